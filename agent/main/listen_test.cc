#include "agent/main/listen.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace ccwpass::agent {
namespace {

using ::ccwpass::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ListenTest, LoopbackIsAllowed) {
  EXPECT_TRUE(CheckListenTcp("127.0.0.1:7443").ok());
  EXPECT_TRUE(CheckListenTcp("127.1.2.3:1").ok());
  EXPECT_TRUE(CheckListenTcp("localhost:7443").ok());
  EXPECT_TRUE(CheckListenTcp("[::1]:7443").ok());
}

TEST(ListenTest, AnyOtherAddressIsRefused) {
  for (const char* a : {"0.0.0.0:7443", "[::]:7443", "10.0.2.15:7443", "localhostx:1", "128.0.0.1:7443"}) {
    EXPECT_THAT(CheckListenTcp(a),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(std::string("--listen-tcp ") + a +
                                   ": refusing to listen beyond loopback without TLS (give --tls-cert, --tls-key and "
                                   "--tls-client-ca)")))
        << a;
  }
}

}  // namespace
}  // namespace ccwpass::agent
