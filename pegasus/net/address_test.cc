#include "pegasus/net/address.h"

#include <string>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"

namespace pegasus::net {
namespace {

TEST(AddressTest, AServerIdIsItsAddressAndPrintsAsIt) {
  absl::StatusOr<NodeId> id = ParseServerAddress("127.0.0.1:34601");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_TRUE(id->has_address());
  EXPECT_EQ(id->ipv4(), 0x7f000001u);
  EXPECT_EQ(id->port(), 34601);
  EXPECT_EQ(id->ToString(), "127.0.0.1:34601");
  EXPECT_EQ(*id, NodeId::FromAddress(0x7f000001u, 34601));
  EXPECT_EQ(NodeId::FromAddress(0xc0a80a01u, 1).ToString(), "192.168.10.1:1");
}

TEST(AddressTest, NamesResolveToIpv4) {
  absl::StatusOr<NodeId> id = ParseServerAddress("localhost:8080");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->ToString(), "127.0.0.1:8080");
}

TEST(AddressTest, BadAddressesAreRefusedWithTheReason) {
  for (const char* bad :
       {"", "127.0.0.1", ":80", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
        "127.0.0.1:-1", "127.0.0.1:8x", "::1:80", "no-such-host.invalid:80"}) {
    absl::StatusOr<NodeId> id = ParseServerAddress(bad);
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(ToErrorCode(id.status()), ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(id.status().message().find(bad), std::string::npos)
        << id.status();
  }
}

TEST(AddressTest, AServerAboutToPickAPortMayAskForAnyPort) {
  absl::StatusOr<NodeId> id = ParseServerAddress("127.0.0.1:0", true);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->port(), 0);
  EXPECT_FALSE(ParseServerAddress("127.0.0.1:0").ok());
  EXPECT_FALSE(ParseServerAddress("127.0.0.1:65536", true).ok());
}

TEST(AddressTest, OtherIdsHaveNoAddress) {
  EXPECT_FALSE(NodeId{3}.has_address());
  EXPECT_EQ(NodeId{3}.ToString(), "n3");
  for (uint64_t bits : {uint64_t{0}, uint64_t{1}, ~uint64_t{0}}) {
    const NodeId client = ClientNodeId(bits);
    EXPECT_FALSE(client.has_address());
    EXPECT_NE(client, NodeId{});
  }
  EXPECT_NE(ClientNodeId(1), ClientNodeId(2));
}

}  // namespace
}  // namespace pegasus::net
