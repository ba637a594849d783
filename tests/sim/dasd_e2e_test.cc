// The whole simulated path on 3390 volumes made at test time by Hercules'
// dasdinit: the client's program → translate into the client's DMA arena →
// I/O region write → the simulated kernel's own translation → the channel
// subsystem thread → the 3390 model on the CKD image → eventfd → IRB →
// back-translation into the client's memory. Volumes: a plain one (VOL001)
// and a Linux CDL one (LNX001, `dasdinit -linux`).
#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/dasd/test_util.h"
#include "sim/kernel.h"
#include "sim/testing/sim_client.h"
#include "translate/builder.h"

namespace ccwpass {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using sim::dasd::testing::DefineExtentData;
using sim::dasd::testing::LocateRecordData;
using translate::CcwSpec;
namespace flag = translate::ccw_flag;

constexpr char kUuid[] = "c3a0c8f1-9d43-4f5e-8a31-2b6f0f1e7a10";
constexpr uint64_t kTrack = 56832;

// The byte offset in the image of the data of record r (1-based) on track t of
// a volume whose track holds 12 records of 4096 bytes after R0 (Linux CDL data
// tracks): header, HA 5, R0 count 8 + data 8, then (count 8 + data 4096) each.
uint64_t Record4kOffset(uint64_t t, int r) { return 512 + t * kTrack + 5 + 16 + (r - 1) * (8 + 4096) + 8; }

class DasdE2eTest : public ::testing::Test {
 protected:
  void Boot(const std::string& image, bool concurrent_sense = false) {
    image_ = image;
    sim::HostConfig h;
    h.channel_paths = {sim::ChannelPathConfig{.chpid = 0x40}};
    sim::SubchannelConfig s;
    s.schno = 0x100;
    s.devno = 0x0191;
    s.chpids = {0x40};
    s.pim = s.pam = 0x80;
    s.concurrent_sense = concurrent_sense;
    s.device.kind = sim::DeviceKind::kDasd3390;
    s.device.image = image;
    s.device.cu_model = 0xC2;  // 3990 as Hercules configures it for a 3390
    h.subchannels = {s};
    auto k = sim::SimKernel::Create(h);
    ASSERT_TRUE(k.ok()) << k.status();
    k_ = std::move(*k);
    auto c = sim::testing::SimClient::Attach(*k_, "0.0.0100", kUuid);
    ASSERT_TRUE(c.ok()) << c.status();
    c_ = std::move(*c);
  }
  // Builds and runs a format-1 program; returns the result.
  sim::testing::RunResult Run(const std::vector<CcwSpec>& ccws, translate::BuiltProgram* keep = nullptr) {
    auto p = translate::BuildProgram(ccws);
    EXPECT_TRUE(p.ok()) << p.status();
    auto r = c_->Run(*p);
    EXPECT_TRUE(r.ok()) << r.status();
    if (keep) *keep = std::move(*p);
    return r.ok() ? *r : sim::testing::RunResult{};
  }
  std::vector<uint8_t> DataOf(const translate::BuiltProgram& p, int index, size_t n) {
    std::vector<uint8_t> out(n);
    EXPECT_TRUE(p.memory->Read(p.data_addrs[index], out).ok());
    return out;
  }
  // SENSE (0x04) after a unit check: the 32 sense bytes.
  std::vector<uint8_t> Sense() {
    translate::BuiltProgram p;
    Run({CcwSpec{.cmd = 0x04, .flags = flag::kSli, .count = 32}}, &p);
    return DataOf(p, 0, 32);
  }
  std::string image_;
  std::unique_ptr<sim::SimKernel> k_;
  std::unique_ptr<sim::testing::SimClient> c_;
};

TEST_F(DasdE2eTest, SenseIdAndReadDeviceCharacteristicsAreTheDocumentedBytes) {
  Boot(sim::dasd::testing::Dasdinit("t.3390 3390 VOL001 10"));
  translate::BuiltProgram p;
  auto r = Run({CcwSpec{.cmd = 0xE4, .flags = flag::kCc | flag::kSli, .count = 256},
                CcwSpec{.cmd = 0x64, .count = 64}},
               &p);
  EXPECT_EQ(r.irb.scsw.dstat, translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd);
  EXPECT_EQ(r.irb.scsw.cstat, 0);
  EXPECT_EQ(r.completion.scsw.cpa, p.ccw_addrs[1] + 8);  // back in the client's address space
  EXPECT_EQ(r.completion.scsw.count, 0);
  // Reference: FF 3990 C2 3390 0A 00 + CIW RCD 40FA0100 (a 10-cylinder volume is a 3390-1: model 02).
  EXPECT_THAT(DataOf(p, 0, 12), ElementsAre(0xff, 0x39, 0x90, 0xc2, 0x33, 0x90, 0x02, 0x00, 0x40, 0xfa, 0x01, 0x00));
  const std::vector<uint8_t> rdc = DataOf(p, 1, 64);
  EXPECT_THAT(std::vector<uint8_t>(rdc.begin(), rdc.begin() + 6), ElementsAre(0x39, 0x90, 0xc2, 0x33, 0x90, 0x02));
  EXPECT_EQ(rdc[12] * 256 + rdc[13], 10);  // cylinders
  EXPECT_EQ(rdc[14] * 256 + rdc[15], 15);  // heads
  ASSERT_EQ(r.completion.transfers.size(), 2u);
  // The SCSW reports the residual of the last CCW only: a chained CCW counts in full.
  EXPECT_EQ(r.completion.transfers[0].bytes, 256u);
  EXPECT_EQ(r.completion.transfers[1].bytes, 64u);
}

TEST_F(DasdE2eTest, Vol1ByDefineExtentLocateRecordRead) {
  Boot(sim::dasd::testing::Dasdinit("t.3390 3390 VOL001 10"));
  translate::BuiltProgram p;
  // DE (whole volume, read) + LR (orient to R3 of track 0, read data, count 1) + READ DATA.
  auto r = Run({CcwSpec{.cmd = 0x63, .flags = flag::kCc, .data = DefineExtentData(0x40, 0xc0, 0, 0, 9, 14)},
                CcwSpec{.cmd = 0x47, .flags = flag::kCc, .data = LocateRecordData(0x06, 0, 1, 0, 0, 3, 0, 80)},
                CcwSpec{.cmd = 0x06, .count = 80}},
               &p);
  EXPECT_EQ(r.irb.scsw.dstat, translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd);
  const std::vector<uint8_t> vol1 = DataOf(p, 2, 80);
  EXPECT_THAT(std::vector<uint8_t>(vol1.begin(), vol1.begin() + 10),
              ElementsAreArray(sim::dasd::testing::Ebcdic("VOL1VOL001")));
}

TEST_F(DasdE2eTest, QemuBiosIplSequenceReadsTheLabel) {
  Boot(sim::dasd::testing::Dasdinit("t.3390 3390 VOL001 10"));
  // (1) READ IPL, format 0, 24 bytes to address 0 as the BIOS does (here at 0x2000).
  translate::FlatGuestMemory mem(0x10000);
  ASSERT_TRUE(translate::WriteCcw(mem, 0x1000, translate::Ccw1{.cmd = 0x02, .count = 24, .cda = 0x2000}, false).ok());
  translate::BuiltProgram ipl;
  ipl.orb.fmt = false;
  ipl.orb.pfch = true;
  ipl.orb.lpm = 0xff;
  ipl.orb.cpa = 0x1000;
  ipl.memory = std::make_unique<translate::FlatGuestMemory>(std::move(mem));
  auto r = c_->Run(ipl);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->irb.scsw.dstat, translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd);
  EXPECT_EQ(r->irb.scsw.cstat, 0);  // IPL1 is exactly 24 bytes: no incorrect length
  std::vector<uint8_t> ipl1(24);
  ASSERT_TRUE(ipl.memory->Read(0x2000, ipl1).ok());
  // dasdinit's IPL1: PSW 00060000 0000000F (Hercules 3.13), then a NOP CCW.
  EXPECT_THAT(std::vector<uint8_t>(ipl1.begin(), ipl1.begin() + 16),
              ElementsAre(0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                          0x01));

  // (2) SEEK 0/0 + SEARCH ID EQUAL R3 + TIC back to the search + READ (format 0).
  translate::FlatGuestMemory m2(0x10000);
  const uint8_t seek[6] = {0, 0, 0, 0, 0, 0};
  const uint8_t search[5] = {0, 0, 0, 0, 3};
  ASSERT_TRUE(m2.Write(0x3000, seek).ok());
  ASSERT_TRUE(m2.Write(0x3010, search).ok());
  ASSERT_TRUE(translate::WriteCcw(m2, 0x1000, {.cmd = 0x07, .flags = flag::kCc, .count = 6, .cda = 0x3000}, false).ok());
  ASSERT_TRUE(translate::WriteCcw(m2, 0x1008, {.cmd = 0x31, .flags = flag::kCc, .count = 5, .cda = 0x3010}, false).ok());
  ASSERT_TRUE(translate::WriteCcw(m2, 0x1010, {.cmd = 0x08, .cda = 0x1008}, false).ok());
  ASSERT_TRUE(translate::WriteCcw(m2, 0x1018, {.cmd = 0x06, .count = 80, .cda = 0x4000}, false).ok());
  translate::BuiltProgram bios;
  bios.orb = ipl.orb;
  bios.memory = std::make_unique<translate::FlatGuestMemory>(std::move(m2));
  r = c_->Run(bios);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->irb.scsw.dstat, translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd);
  EXPECT_EQ(r->irb.scsw.cstat, 0);
  EXPECT_EQ(r->completion.scsw.cpa, 0x1020u);  // after the READ
  std::vector<uint8_t> vol1(10);
  ASSERT_TRUE(bios.memory->Read(0x4000, vol1).ok());
  EXPECT_EQ(vol1, sim::dasd::testing::Ebcdic("VOL1VOL001"));
}

TEST_F(DasdE2eTest, LinuxBlockWriteAndReadLandAtTheRightFileOffset) {
  Boot(sim::dasd::testing::Dasdinit("-linux tl.3390 3390 LNX001 3"));
  // Block 100 with 12 blocks a track: track 8 (cylinder 0 head 8), record 5, sector 77.
  std::vector<uint8_t> block(4096);
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<uint8_t>(i * 7 + 3);
  auto w = Run({CcwSpec{.cmd = 0x63, .flags = flag::kCc, .data = DefineExtentData(0x80, 0xc0, 0, 8, 0, 8)},
                CcwSpec{.cmd = 0x47, .flags = flag::kCc, .data = LocateRecordData(0x01, 0x80, 1, 0, 8, 5, 77, 4096)},
                CcwSpec{.cmd = 0x85, .flags = flag::kIda, .data = block}});
  EXPECT_EQ(w.irb.scsw.dstat, translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd);
  EXPECT_EQ(w.irb.scsw.cstat, 0);
  EXPECT_EQ(w.completion.bytes_out, 16u + 16u + 4096u);
  EXPECT_EQ(sim::dasd::testing::ReadFileBytes(image_, Record4kOffset(8, 5), 4096), block);

  translate::BuiltProgram p;
  auto r = Run({CcwSpec{.cmd = 0x63, .flags = flag::kCc, .data = DefineExtentData(0x40, 0xc0, 0, 8, 0, 8)},
                CcwSpec{.cmd = 0x47, .flags = flag::kCc, .data = LocateRecordData(0x06, 0x80, 1, 0, 8, 5, 77, 4096)},
                CcwSpec{.cmd = 0x86, .flags = flag::kIda, .count = 4096}},
               &p);
  EXPECT_EQ(r.irb.scsw.dstat, translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd);
  EXPECT_EQ(DataOf(p, 2, 4096), block);
  EXPECT_EQ(r.completion.bytes_in, 4096u);

  // Hercules' own dasdls still reads the volume after our write.
  c_.reset();
  k_.reset();
  std::string out;
  EXPECT_EQ(sim::dasd::testing::RunCommand("dasdls " + image_ + " 2>&1", &out), 0) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("VOLSER=LNX001"));
}

TEST_F(DasdE2eTest, NoRecordFoundGivesUnitCheckAndItsSense) {
  Boot(sim::dasd::testing::Dasdinit("t.3390 3390 VOL001 10"));
  // R9 does not exist on track 0 of a plain volume.
  auto r = Run({CcwSpec{.cmd = 0x63, .flags = flag::kCc, .data = DefineExtentData(0x40, 0xc0, 0, 0, 9, 14)},
                CcwSpec{.cmd = 0x47, .flags = flag::kCc, .data = LocateRecordData(0x06, 0, 1, 0, 0, 9, 0, 80)},
                CcwSpec{.cmd = 0x06, .count = 80}});
  EXPECT_EQ(r.irb.scsw.dstat,
            translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd | translate::dev_stat::kUnitCheck);
  EXPECT_EQ(r.irb.scsw.stctl, translate::scsw_stctl::kAlert | translate::scsw_stctl::kPrimary |
                                  translate::scsw_stctl::kSecondary | translate::scsw_stctl::kStatusPending);
  ASSERT_TRUE(r.completion.last_ccw.has_value());
  EXPECT_EQ(r.completion.last_ccw->index, 1);  // LOCATE RECORD found nothing
  const std::vector<uint8_t> sense = Sense();
  EXPECT_EQ(sense[0], 0x00);
  EXPECT_EQ(sense[1], 0x08);  // no record found
  EXPECT_EQ(sense[27], 0x80);
}

TEST_F(DasdE2eTest, ConcurrentSenseArrivesInTheEcw) {
  Boot(sim::dasd::testing::Dasdinit("t.3390 3390 VOL001 10"), /*concurrent_sense=*/true);
  auto r = Run({CcwSpec{.cmd = 0xEE, .count = 1}});  // not a 3390 command: command reject, message 1
  EXPECT_EQ(r.irb.scsw.dstat,
            translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd | translate::dev_stat::kUnitCheck);
  EXPECT_TRUE(r.irb.scsw.ectl);
  EXPECT_TRUE(r.irb.esw.erw_s);
  EXPECT_EQ(r.irb.esw.erw_scnt, 32);
  EXPECT_EQ(r.irb.ecw[0], 0x80);  // command reject
  EXPECT_EQ(r.irb.ecw[7], 0x01);  // format 0, message 1: invalid command
}

TEST_F(DasdE2eTest, InjectedUnitCheckThenSense) {
  Boot(sim::dasd::testing::Dasdinit("t.3390 3390 VOL001 10"));
  ASSERT_TRUE(k_->InjectUnitCheck("0.0.0100", {0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a}).ok());
  auto r = Run({CcwSpec{.cmd = 0xE4, .flags = flag::kSli, .count = 32}});
  EXPECT_EQ(r.irb.scsw.dstat,
            translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd | translate::dev_stat::kUnitCheck);
  EXPECT_EQ(r.completion.scsw.count, 32);  // nothing transferred
  const std::vector<uint8_t> sense = Sense();
  EXPECT_EQ(sense[0], 0x10);  // equipment check, as injected
  EXPECT_EQ(sense[7], 0x2a);
  EXPECT_EQ(Sense()[0], 0x00);  // the device's own (empty) sense afterwards
}

TEST_F(DasdE2eTest, PciGivesAnIntermediateInterruption) {
  Boot(sim::dasd::testing::Dasdinit("t.3390 3390 VOL001 10"));
  auto p = translate::BuildProgram(std::vector<CcwSpec>{CcwSpec{.cmd = 0x03, .flags = flag::kCc | flag::kPci, .count = 0},
                                    CcwSpec{.cmd = 0xE4, .flags = flag::kSli, .count = 32}});
  ASSERT_TRUE(p.ok());
  auto prog = translate::Translate(p->orb, *p->memory, c_->arena());
  ASSERT_TRUE(prog.ok()) << prog.status();
  const uint64_t irqs = k_->css().stats().interruptions;
  ASSERT_EQ(c_->Start(prog->orb()), 124);
  // The I/O region keeps the last IRB only: the intermediate one is seen when
  // the client reads before the final one arrives.
  auto first = c_->WaitIrb();
  ASSERT_TRUE(first.ok());
  translate::Irb final_irb = *first;
  if (!first->scsw.IsFinal()) {
    EXPECT_EQ(first->scsw.cstat, translate::sch_stat::kPci);
    EXPECT_EQ(first->scsw.stctl, translate::scsw_stctl::kIntermediate | translate::scsw_stctl::kStatusPending);
    EXPECT_EQ(first->scsw.cpa, p->ccw_addrs[0] + 8);  // mapped back to the client
    auto second = c_->WaitIrb();
    ASSERT_TRUE(second.ok());
    final_irb = *second;
  }
  EXPECT_EQ(k_->css().stats().interruptions - irqs, 2u);  // intermediate + final
  EXPECT_TRUE(final_irb.scsw.IsFinal());
  EXPECT_EQ(final_irb.scsw.dstat, translate::dev_stat::kChannelEnd | translate::dev_stat::kDeviceEnd);
  auto done = prog->Complete(final_irb.scsw, *p->memory);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->scsw.cpa, p->ccw_addrs[1] + 8);
}

}  // namespace
}  // namespace ccwpass
