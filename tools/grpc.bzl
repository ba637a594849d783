"""cc_grpc_library: C++ gRPC stubs from a proto_library with Debian's protoc and grpc_cpp_plugin.

Bazel 4.2.3 has no native gRPC rule; this runs `protoc --grpc_out` with the system
plugin over the proto_library's descriptor sets, so no download is ever needed.
"""

def _grpc_cc_srcs_impl(ctx):
    info = ctx.attr.proto[ProtoInfo]
    outs = ctx.outputs.outs
    # The output root such that <root>/<rel dir>/<base>.grpc.pb.h is where declare_file put it.
    out_root = ctx.bin_dir.path
    if ctx.label.workspace_root:
        out_root = out_root + "/" + ctx.label.workspace_root
    args = ctx.actions.args()
    args.add("--plugin=protoc-gen-grpc=" + ctx.executable._plugin.path)
    args.add("--grpc_out=" + out_root)
    args.add_joined("--descriptor_set_in", info.transitive_descriptor_sets, join_with = ":")
    for src in info.direct_sources:
        rel = src.path
        root = info.proto_source_root
        if root and root != "." and rel.startswith(root + "/"):
            rel = rel[len(root) + 1:]
        args.add(rel)
    ctx.actions.run(
        executable = ctx.executable._protoc,
        arguments = [args],
        inputs = info.transitive_descriptor_sets,
        tools = [ctx.executable._plugin],
        outputs = outs,
        mnemonic = "GrpcCppPlugin",
        progress_message = "Generating C++ gRPC stubs for %s" % ctx.label,
    )
    return [DefaultInfo(files = depset(outs))]

_grpc_cc_srcs = rule(
    implementation = _grpc_cc_srcs_impl,
    attrs = {
        "proto": attr.label(providers = [ProtoInfo], mandatory = True),
        "outs": attr.output_list(mandatory = True),
        "_protoc": attr.label(
            default = "@com_google_protobuf//:protoc",
            executable = True,
            allow_single_file = True,
            cfg = "host",
        ),
        "_plugin": attr.label(
            default = "@com_google_protobuf//:grpc_cpp_plugin",
            executable = True,
            allow_single_file = True,
            cfg = "host",
        ),
    },
)

def cc_grpc_library(name, proto, cc_proto, srcs_names, visibility = None, **kwargs):
    """C++ gRPC service stubs.

    Args:
      name: the cc_library to define.
      proto: the proto_library with the services.
      cc_proto: its cc_proto_library (the message classes).
      srcs_names: base names of the .proto files in `proto` (without .proto), e.g. ["ccw"].
      visibility: visibility of the cc_library.
      **kwargs: passed to the cc_library.
    """
    gen = name + "_gen"
    _grpc_cc_srcs(
        name = gen,
        proto = proto,
        outs = [n + ext for n in srcs_names for ext in [".grpc.pb.h", ".grpc.pb.cc"]],
    )
    native.cc_library(
        name = name,
        srcs = [n + ".grpc.pb.cc" for n in srcs_names],
        hdrs = [n + ".grpc.pb.h" for n in srcs_names],
        deps = [cc_proto, "@system//:grpcpp"],
        visibility = visibility,
        **kwargs
    )
