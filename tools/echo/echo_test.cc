// The generated echo service works over a real in-process gRPC channel:
// proves the offline protoc + grpc_cpp_plugin rule end to end.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tools/echo/echo.grpc.pb.h"

namespace ccwpass::tools::echo {
namespace {

class EchoImpl final : public Echo::Service {
  grpc::Status Echo(grpc::ServerContext*, const EchoRequest* req, EchoReply* reply) override {
    reply->set_payload(req->payload());
    reply->set_tag(req->tag() + 1);
    return grpc::Status::OK;
  }
};

TEST(EchoTest, UnaryCallOverInProcessChannel) {
  EchoImpl service;
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = Echo::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  EchoRequest req;
  req.set_payload(std::string("\xe4\x20\x01\x00", 4));
  req.set_tag(41);
  EchoReply reply;
  grpc::ClientContext ctx;
  grpc::Status st = stub->Echo(&ctx, req, &reply);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(reply.payload(), req.payload());
  EXPECT_EQ(reply.tag(), 42u);
  server->Shutdown();
}

}  // namespace
}  // namespace ccwpass::tools::echo
