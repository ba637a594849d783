#include "agent/access/program_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"
#include "translate/arena.h"
#include "translate/builder.h"

namespace ccwpass::agent::access {
namespace {

using ::ccwpass::testing::HasRule;
using ::ccwpass::testing::StatusIs;
using ::testing::Eq;

// Translates a structural program and checks it against `c`.
absl::Status Police(const ProgramClass& c, const std::vector<translate::CcwSpec>& specs) {
  auto built = translate::BuildProgram(specs);
  if (!built.ok()) return built.status();
  auto arena = translate::DmaArena::CreateOwned(1 << 20, 0x10000);
  if (!arena.ok()) return arena.status();
  auto prog = translate::Translate(built->orb, *built->memory, **arena);
  if (!prog.ok()) return prog.status();
  absl::Status st = CheckProgram(c, *prog);
  prog->Release();
  return st;
}

translate::CcwSpec Cmd(uint8_t cmd, uint8_t flags, uint32_t count) {
  translate::CcwSpec s;
  s.cmd = cmd;
  s.flags = flags;
  s.count = count;
  return s;
}

constexpr uint8_t kCc = 0x40, kSli = 0x20;

TEST(ProgramPolicyTest, DefaultDeniesReserveReleaseAndPathGroups) {
  const ProgramClass c;
  for (uint8_t cmd : {0xB4, 0x94, 0x14, 0xAF}) {
    SCOPED_TRACE(cmd);
    absl::Status st = Police(c, {Cmd(0xE4, kCc | kSli, 7), Cmd(cmd, kSli, 32)});
    EXPECT_THAT(st, HasRule("deny-command"));
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_THAT(Police(c, {Cmd(0xE4, kCc | kSli, 7), Cmd(0xB4, kSli, 32)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("ccw 1 at 0x1008: policy deny-command: command 0xb4 (RESERVE) is denied on class default "
                          "[EPERM]")));
  EXPECT_THAT(Police(c, {Cmd(0xAF, 0, 12)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("ccw 0 at 0x1000: policy deny-command: command 0xaf (SET PATH GROUP ID) is denied on class "
                          "default [EPERM]")));
  EXPECT_TRUE(Police(c, {Cmd(0xE4, kSli, 256)}).ok());
  EXPECT_TRUE(Police(c, {Cmd(0x34, kSli, 12)}).ok());  // SENSE PATH GROUP ID reads only
}

constexpr char kConfig[] = R"(
programs:
  - class: dasd
    cu_types: ["3990"]
    dev_types: ["3390"]
    allow_commands: [0xb4, "0x94"]
    max_program_bytes: 1000
    max_ccw_bytes: 512
    max_in_flight_per_client: 2
    rate: {per_second: 10, burst: 2}
  - class: other
    deny_commands: [0x27]
)";

TEST(ProgramPolicyTest, ClassesFromConfig) {
  auto classes = ParseProgramClasses(kConfig, "a.yaml");
  ASSERT_TRUE(classes.ok()) << classes.status();
  ProgramPolicy policy(*classes);
  const ProgramClass& dasd = policy.ClassFor(std::pair<uint16_t, uint8_t>{0x3990, 0xe9},
                                             std::pair<uint16_t, uint8_t>{0x3390, 0x0c});
  EXPECT_EQ(dasd.name, "dasd");
  EXPECT_EQ(policy.ClassFor(std::pair<uint16_t, uint8_t>{0x3480, 1}, std::nullopt).name, "other");
  EXPECT_EQ(policy.ClassFor(std::nullopt, std::nullopt).name, "other");  // no selectors: any device
  EXPECT_EQ(dasd.denied, (std::set<uint8_t>{0x14, 0xAF}));

  EXPECT_TRUE(Police(dasd, {Cmd(0xB4, kSli, 32)}).ok());
  EXPECT_THAT(Police(dasd, {Cmd(0xE4, kCc | kSli, 7), Cmd(0x14, kSli, 32)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("ccw 1 at 0x1008: policy deny-command: command 0x14 (UNCONDITIONAL RESERVE) is denied on "
                          "class dasd [EPERM]")));
  EXPECT_THAT(Police(dasd, {Cmd(0xE4, kCc | kSli, 7), Cmd(0x06, kSli, 513)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("ccw 1 at 0x1008: policy max-ccw-bytes: command 0x06 moves 513 bytes; class dasd allows 512 "
                          "per CCW [EPERM]")));
  EXPECT_THAT(Police(dasd, {Cmd(0x06, kCc | kSli, 400), Cmd(0x06, kCc | kSli, 400), Cmd(0x06, kSli, 400)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("ccw 2 at 0x1010: policy max-program-bytes: command 0x06 brings the program to 1200 bytes; "
                          "class dasd allows 1000 per program [EPERM]")));
  const ProgramClass& other = policy.ClassFor(std::nullopt, std::nullopt);
  EXPECT_THAT(Police(other, {Cmd(0x27, 0, 16)}), HasRule("deny-command"));
  EXPECT_TRUE(Police(other, {Cmd(0xB4, kSli, 32)}).ok());  // deny_commands replaces the default list
}

TEST(ProgramPolicyTest, InFlightAndRate) {
  auto classes = ParseProgramClasses(kConfig, "a.yaml");
  ASSERT_TRUE(classes.ok());
  absl::Time now = absl::FromUnixSeconds(1000);
  ProgramPolicy policy(*classes, [&] { return now; });
  const ProgramClass& dasd = (*classes)[0];
  {
    auto a = policy.Admit(dasd, "uid:1001", "0.0.0100");
    auto b = policy.Admit(dasd, "uid:1001", "0.0.0101");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_THAT(policy.Admit(dasd, "uid:1001", "0.0.0102"),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         Eq("0.0.0102: policy max-in-flight: uid:1001 has 2 programs in flight; class dasd allows 2")));
    EXPECT_TRUE(policy.Admit(dasd, "uid:1002", "0.0.0102").ok());  // another client
  }
  // Both done; the bucket of (uid:1001, 0.0.0100) has 1 token left of 2.
  EXPECT_TRUE(policy.Admit(dasd, "uid:1001", "0.0.0100").ok());
  EXPECT_THAT(policy.Admit(dasd, "uid:1001", "0.0.0100"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       Eq("0.0.0100: policy rate: uid:1001 may start 10 programs a second (burst 2) on class dasd; "
                          "try again in 100ms")));
  EXPECT_TRUE(policy.Admit(dasd, "uid:1001", "0.0.0101").ok());  // per device
  now += absl::Milliseconds(100);
  EXPECT_TRUE(policy.Admit(dasd, "uid:1001", "0.0.0100").ok());
}

TEST(ProgramPolicyTest, ConfigErrors) {
  EXPECT_THAT(ParseProgramClasses("programs:\n  - class: d\n    deny_commands: [0x1b4]\n", "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("a.yaml: programs[0] (d): deny_commands[0] \"0x1b4\": not a command code 0x00..0xff")));
  EXPECT_THAT(ParseProgramClasses("programs:\n  - class: d\n    cu_types: [39x0]\n", "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("a.yaml: programs[0] (d): cu_types[0] \"39x0\": not a hex type like 3990 or 3990/e9")));
  EXPECT_THAT(ParseProgramClasses("programs:\n  - class: d\n    max_ccw_bytes: 70000\n", "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("a.yaml: programs[0] (d): max_ccw_bytes: a CCW moves at most 65535 bytes")));
  EXPECT_THAT(ParseProgramClasses("programs:\n  - class: d\n    rate: {burst: 3}\n", "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("a.yaml: programs[0] (d): rate.per_second: must be more than 0")));
}

}  // namespace
}  // namespace ccwpass::agent::access
