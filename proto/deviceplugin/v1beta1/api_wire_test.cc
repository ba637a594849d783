// The compiled descriptors say what the kubelet expects on the wire
// (../shared/reference/kubelet-device-plugin.md): fully qualified service and
// method names, field numbers and types.
#include <string>

#include "gtest/gtest.h"
#include "proto/deviceplugin/v1beta1/api.grpc.pb.h"

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

void ExpectField(const Descriptor* d, const std::string& name, int number, FieldDescriptor::Type type,
                 bool repeated) {
  const FieldDescriptor* f = d->FindFieldByName(name);
  ASSERT_NE(f, nullptr) << d->full_name() << "." << name;
  EXPECT_EQ(f->number(), number) << d->full_name() << "." << name;
  EXPECT_EQ(f->type(), type) << d->full_name() << "." << name;
  EXPECT_EQ(f->is_repeated(), repeated) << d->full_name() << "." << name;
}

TEST(ApiWireTest, ServicesHaveTheKubeletsNames) {
  const auto* file = v1beta1::RegisterRequest::descriptor()->file();
  EXPECT_EQ(file->package(), "v1beta1");
  ASSERT_NE(file->FindServiceByName("Registration"), nullptr);
  EXPECT_EQ(file->FindServiceByName("Registration")->full_name(), "v1beta1.Registration");
  const auto* dp = file->FindServiceByName("DevicePlugin");
  ASSERT_NE(dp, nullptr);
  EXPECT_EQ(dp->full_name(), "v1beta1.DevicePlugin");
  ASSERT_EQ(dp->method_count(), 5);
  EXPECT_EQ(dp->method(0)->name(), "GetDevicePluginOptions");
  EXPECT_EQ(dp->method(1)->name(), "ListAndWatch");
  EXPECT_TRUE(dp->method(1)->server_streaming());
  EXPECT_EQ(dp->method(2)->name(), "GetPreferredAllocation");
  EXPECT_EQ(dp->method(3)->name(), "Allocate");
  EXPECT_EQ(dp->method(4)->name(), "PreStartContainer");
  // The gRPC method paths the kubelet dials.
  EXPECT_STREQ(v1beta1::Registration::service_full_name(), "v1beta1.Registration");
  EXPECT_STREQ(v1beta1::DevicePlugin::service_full_name(), "v1beta1.DevicePlugin");
}

TEST(ApiWireTest, FieldNumbers) {
  using T = FieldDescriptor;
  ExpectField(v1beta1::DevicePluginOptions::descriptor(), "pre_start_required", 1, T::TYPE_BOOL, false);
  ExpectField(v1beta1::DevicePluginOptions::descriptor(), "get_preferred_allocation_available", 2, T::TYPE_BOOL,
              false);
  ExpectField(v1beta1::RegisterRequest::descriptor(), "version", 1, T::TYPE_STRING, false);
  ExpectField(v1beta1::RegisterRequest::descriptor(), "endpoint", 2, T::TYPE_STRING, false);
  ExpectField(v1beta1::RegisterRequest::descriptor(), "resource_name", 3, T::TYPE_STRING, false);
  ExpectField(v1beta1::RegisterRequest::descriptor(), "options", 4, T::TYPE_MESSAGE, false);
  ExpectField(v1beta1::ListAndWatchResponse::descriptor(), "devices", 1, T::TYPE_MESSAGE, true);
  ExpectField(v1beta1::TopologyInfo::descriptor(), "nodes", 1, T::TYPE_MESSAGE, true);
  ExpectField(v1beta1::NUMANode::descriptor(), "ID", 1, T::TYPE_INT64, false);
  ExpectField(v1beta1::Device::descriptor(), "ID", 1, T::TYPE_STRING, false);
  ExpectField(v1beta1::Device::descriptor(), "health", 2, T::TYPE_STRING, false);
  ExpectField(v1beta1::Device::descriptor(), "topology", 3, T::TYPE_MESSAGE, false);
  ExpectField(v1beta1::PreStartContainerRequest::descriptor(), "devices_ids", 1, T::TYPE_STRING, true);
  ExpectField(v1beta1::PreferredAllocationRequest::descriptor(), "container_requests", 1, T::TYPE_MESSAGE, true);
  ExpectField(v1beta1::ContainerPreferredAllocationRequest::descriptor(), "available_deviceIDs", 1, T::TYPE_STRING,
              true);
  ExpectField(v1beta1::ContainerPreferredAllocationRequest::descriptor(), "must_include_deviceIDs", 2,
              T::TYPE_STRING, true);
  ExpectField(v1beta1::ContainerPreferredAllocationRequest::descriptor(), "allocation_size", 3, T::TYPE_INT32,
              false);
  ExpectField(v1beta1::PreferredAllocationResponse::descriptor(), "container_responses", 1, T::TYPE_MESSAGE, true);
  ExpectField(v1beta1::ContainerPreferredAllocationResponse::descriptor(), "deviceIDs", 1, T::TYPE_STRING, true);
  ExpectField(v1beta1::AllocateRequest::descriptor(), "container_requests", 1, T::TYPE_MESSAGE, true);
  ExpectField(v1beta1::ContainerAllocateRequest::descriptor(), "devices_ids", 1, T::TYPE_STRING, true);
  ExpectField(v1beta1::AllocateResponse::descriptor(), "container_responses", 1, T::TYPE_MESSAGE, true);
  const Descriptor* car = v1beta1::ContainerAllocateResponse::descriptor();
  ExpectField(car, "envs", 1, T::TYPE_MESSAGE, true);
  EXPECT_TRUE(car->FindFieldByName("envs")->is_map());
  ExpectField(car, "mounts", 2, T::TYPE_MESSAGE, true);
  ExpectField(car, "devices", 3, T::TYPE_MESSAGE, true);
  ExpectField(car, "annotations", 4, T::TYPE_MESSAGE, true);
  EXPECT_TRUE(car->FindFieldByName("annotations")->is_map());
  ExpectField(car, "cdi_devices", 5, T::TYPE_MESSAGE, true);
  ExpectField(v1beta1::Mount::descriptor(), "container_path", 1, T::TYPE_STRING, false);
  ExpectField(v1beta1::Mount::descriptor(), "host_path", 2, T::TYPE_STRING, false);
  ExpectField(v1beta1::Mount::descriptor(), "read_only", 3, T::TYPE_BOOL, false);
  ExpectField(v1beta1::DeviceSpec::descriptor(), "container_path", 1, T::TYPE_STRING, false);
  ExpectField(v1beta1::DeviceSpec::descriptor(), "host_path", 2, T::TYPE_STRING, false);
  ExpectField(v1beta1::DeviceSpec::descriptor(), "permissions", 3, T::TYPE_STRING, false);
  ExpectField(v1beta1::CDIDevice::descriptor(), "name", 1, T::TYPE_STRING, false);
}

}  // namespace
