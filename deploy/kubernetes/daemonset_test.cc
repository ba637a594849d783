// deploy/kubernetes/daemonset.yaml, read with a YAML parser: what the DaemonSet
// needs to be right for ccw-agent on a real node. Every host path the agent
// uses is mounted at the same path, every flag in its args is one ccw-agent
// accepts (its --help), the flags' paths are the mounts, the class file in the
// ConfigMap parses as device classes, and it runs only on s390x nodes.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/deviceplugin/device_class.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace {

std::string Runfile(const std::string& rel) {
  return std::string(std::getenv("TEST_SRCDIR")) + "/" + std::getenv("TEST_WORKSPACE") + "/" + rel;
}

std::string Output(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

class DaemonSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    docs_ = YAML::LoadAllFromFile(Runfile("deploy/kubernetes/daemonset.yaml"));
    for (const YAML::Node& d : docs_) kinds_[d["kind"].as<std::string>()] = d;
    ASSERT_TRUE(kinds_.count("DaemonSet"));
    ASSERT_TRUE(kinds_.count("ConfigMap"));
    pod_ = kinds_["DaemonSet"]["spec"]["template"]["spec"];
    ASSERT_TRUE(pod_["containers"].IsSequence());
    ASSERT_EQ(pod_["containers"].size(), 1u);
    agent_ = pod_["containers"][0];
    for (const YAML::Node& a : agent_["args"]) {
      const std::string s = a.as<std::string>();
      const size_t eq = s.find('=');
      ASSERT_NE(eq, std::string::npos) << s << ": write flags as --name=value";
      args_[s.substr(0, eq)] = s.substr(eq + 1);
    }
    for (const YAML::Node& m : agent_["volumeMounts"]) mounts_[m["name"].as<std::string>()] = m["mountPath"].as<std::string>();
    for (const YAML::Node& v : pod_["volumes"]) volumes_[v["name"].as<std::string>()] = v;
  }
  // The mount path of the volume whose hostPath is `host`; "" when none.
  std::string MountOfHostPath(const std::string& host) {
    for (const auto& [name, v] : volumes_) {
      if (v["hostPath"] && v["hostPath"]["path"].as<std::string>() == host) return mounts_[name];
    }
    return "";
  }

  std::vector<YAML::Node> docs_;
  std::map<std::string, YAML::Node> kinds_;
  YAML::Node pod_, agent_;
  std::map<std::string, std::string> args_, mounts_;
  std::map<std::string, YAML::Node> volumes_;
};

TEST_F(DaemonSetTest, RunsOnS390xNodesOnly) {
  EXPECT_EQ(pod_["nodeSelector"]["kubernetes.io/arch"].as<std::string>(), "s390x");
  EXPECT_EQ(kinds_["DaemonSet"]["apiVersion"].as<std::string>(), "apps/v1");
  // The selector selects the template's pods.
  EXPECT_EQ(kinds_["DaemonSet"]["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>(),
            kinds_["DaemonSet"]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"].as<std::string>());
}

TEST_F(DaemonSetTest, PrivilegedWithTheHostPathsAtTheirOwnPlaces) {
  EXPECT_TRUE(agent_["securityContext"]["privileged"].as<bool>());
  EXPECT_TRUE(pod_["hostNetwork"].as<bool>());  // udev netlink events
  for (const std::string p : {"/sys", "/dev/vfio", "/var/lib/kubelet/device-plugins", "/run/ccwpass",
                              "/var/lib/ccwpass", "/var/run/cdi", "/run/udev"}) {
    EXPECT_EQ(MountOfHostPath(p), p) << "hostPath " << p;
  }
}

TEST_F(DaemonSetTest, FlagsPointAtTheMounts) {
  EXPECT_EQ(args_["--sysfs-root"], MountOfHostPath("/sys"));
  EXPECT_EQ(args_["--dev-root"] + "/vfio", MountOfHostPath("/dev/vfio"));
  EXPECT_EQ(args_["--device-plugin-dir"], MountOfHostPath("/var/lib/kubelet/device-plugins"));
  EXPECT_EQ(args_["--run-dir"], MountOfHostPath("/run/ccwpass"));
  EXPECT_EQ(args_["--state-dir"], MountOfHostPath("/var/lib/ccwpass"));
  EXPECT_EQ(args_["--cdi-dir"], MountOfHostPath("/var/run/cdi"));
  EXPECT_EQ(args_["--resource-domain"], "ccwpass.io");
  // The metrics port is the one the container declares.
  const std::string metrics = args_["--metrics-address"];
  ASSERT_NE(metrics.rfind(':'), std::string::npos);
  EXPECT_EQ(metrics.substr(metrics.rfind(':') + 1), agent_["ports"][0]["containerPort"].as<std::string>());
  EXPECT_EQ(agent_["ports"][0]["name"].as<std::string>(), "metrics");
  // ccwctl in the probes finds the agent's socket.
  EXPECT_EQ(agent_["env"][0]["name"].as<std::string>(), "CCWPASS_AGENT");
  EXPECT_EQ(agent_["env"][0]["value"].as<std::string>(), "unix://" + args_["--run-dir"] + "/agent.sock");
}

TEST_F(DaemonSetTest, EveryFlagIsOneCcwAgentHas) {
  const std::string help = Output(Runfile("agent/main/ccw-agent") + " --help 2>&1");
  ASSERT_THAT(help, ::testing::HasSubstr("--device-classes"));
  for (const auto& [flag, value] : args_) {
    EXPECT_THAT(help, ::testing::HasSubstr(flag + " ")) << flag << " is not a ccw-agent flag";
  }
}

TEST_F(DaemonSetTest, TheConfigMapHoldsValidDeviceClasses) {
  const std::string path = args_["--device-classes"];
  const std::string dir = path.substr(0, path.rfind('/')), key = path.substr(path.rfind('/') + 1);
  ASSERT_TRUE(volumes_.count("device-classes"));
  EXPECT_EQ(mounts_["device-classes"], dir);
  EXPECT_EQ(volumes_["device-classes"]["configMap"]["name"].as<std::string>(),
            kinds_["ConfigMap"]["metadata"]["name"].as<std::string>());
  ASSERT_TRUE(kinds_["ConfigMap"]["data"][key]) << "no key " << key << " in the ConfigMap";
  auto classes = ccwpass::agent::deviceplugin::ParseDeviceClasses(kinds_["ConfigMap"]["data"][key].as<std::string>(),
                                                                  "ConfigMap " + key);
  ASSERT_TRUE(classes.ok()) << classes.status();
  ASSERT_EQ(classes->size(), 1u);
  EXPECT_EQ((*classes)[0].name, "dasd-3390");
}

}  // namespace
