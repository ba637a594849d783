// Device classes of the Kubernetes device plugin: which subchannels the agent
// offers to the kubelet, under which resource name, and what their device IDs
// are. A class selects I/O subchannels by control-unit type/model, device
// type/model and device-number ranges (all given selectors must match; within
// one selector any entry may). The class file is YAML (docs/device-plugin.md):
//
//   classes:
//     - name: dasd-3390             # resource <domain>/dasd-3390
//       cu_types: ["3990", "2107"]  # hex type, or type/model "3990/e9"
//       dev_types: ["3390"]         # hex type, or type/model "3390/0c"
//       devnos: ["0.0.0100-0.0.01ff", "0.0.0200"]
//
// Sources: the kubelet's resource-name rules (k8s.io/apimachinery validation:
// a DNS-1123 subdomain, "/", a qualified name of at most 63 characters);
// CU/device types as sysfs prints them (`cutype`, `devtype`: "%04x/%02x").
#ifndef CCWPASS_AGENT_DEVICEPLUGIN_DEVICE_CLASS_H_
#define CCWPASS_AGENT_DEVICEPLUGIN_DEVICE_CLASS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ccwpass::agent::deviceplugin {

// A CU or device type, with or without the model: "3990" or "3990/e9".
struct TypeSelector {
  uint16_t type = 0;
  std::optional<uint8_t> model;
  bool Matches(const std::pair<uint16_t, uint8_t>& type_model) const;
};

// Parses "3990" or "3990/e9" (hex type, optional hex model); nullopt when malformed.
std::optional<TypeSelector> ParseTypeSelector(std::string_view text);

// Device numbers first..last (inclusive) in subchannel set `ssid`.
struct DevnoRange {
  uint8_t ssid = 0;
  uint16_t first = 0, last = 0;
  bool Contains(uint8_t ssid, uint16_t devno) const;
};

struct DeviceClass {
  std::string name;                      // "dasd-3390"
  std::vector<TypeSelector> cu_types;    // empty: any
  std::vector<TypeSelector> dev_types;   // empty: any
  std::vector<DevnoRange> devnos;        // empty: any
};

// Parses a class file's text; `source` names it in errors. Errors:
// kInvalidArgument naming the source, the class index and the key, e.g.
// `classes.yaml: classes[1] (dasd): cu_types[0] "39x0": not a hex type like 3990 or 3990/e9`;
// unknown keys, duplicate names, a class without any selector, and a name
// that is not a qualified name of at most 63 characters are refused.
absl::StatusOr<std::vector<DeviceClass>> ParseDeviceClasses(std::string_view yaml, std::string_view source);
// Reads and parses the file at `path`. Errors: kNotFound / kPermissionDenied
// when it cannot be read (naming the path), else as ParseDeviceClasses.
absl::StatusOr<std::vector<DeviceClass>> LoadDeviceClasses(const std::string& path);

// Checks a resource domain ("ccwpass.io"): a DNS-1123 subdomain of at most
// 253 characters, not "kubernetes.io" or below (the kubelet refuses those for
// extended resources). Errors: kInvalidArgument saying which rule.
absl::Status ValidateResourceDomain(std::string_view domain);

// What a class needs to know of a subchannel to decide membership.
struct Candidate {
  uint8_t ssid = 0;
  std::optional<uint16_t> devno;
  std::optional<std::pair<uint16_t, uint8_t>> cu_type, dev_type;  // nullopt: unknown now
};
// True when every selector of `c` matches. A type selector never matches an
// unknown type (a subchannel on vfio_ccw has no ccw device to read it from),
// a devno range never matches a subchannel without a device.
bool Matches(const DeviceClass& c, const Candidate& s);

// The device ID and mdev UUID of the device with bus ID 0.<ssid>.<devno>: a
// name-based UUID (RFC 4122 version 5, SHA-1) in ccwpass' namespace of the
// text "ccw:0.<ssid>.<devno>", lower case, 36 characters. The same device
// number gives the same ID on every start and host IPL (schids may change,
// device numbers are configured in the IOCDS), and KubeVirt's convention
// (device ID = mdev UUID) holds.
std::string DeviceUuid(uint8_t ssid, uint16_t devno);

// The environment-variable stem of a class: "dasd-3390" → "DASD_3390"
// (upper case, any character but [A-Z0-9] becomes "_").
std::string EnvStem(std::string_view class_name);

}  // namespace ccwpass::agent::deviceplugin

#endif  // CCWPASS_AGENT_DEVICEPLUGIN_DEVICE_CLASS_H_
