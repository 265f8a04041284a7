"""C++ code generation from .proto files with Debian's protoc, offline."""

load("@rules_cc//cc:defs.bzl", "cc_library")

def cc_proto(name, srcs, deps = [], grpc = False, visibility = None):
    """A cc_library of the messages in `srcs` (protoc --cpp_out).

    Imports resolve against the workspace root, so a file imports another
    as "pegasus/proto/x.proto"; list imported files' cc_proto targets in
    `deps` and their .proto files must be reachable through them.

    With grpc = True the library also holds the services' stubs and base
    classes (protoc's gRPC plugin, --grpc_out: x.grpc.pb.h) and links gRPC.
    """
    stems = [src[:-len(".proto")] for src in srcs]
    headers = [stem + ".pb.h" for stem in stems]
    sources = [stem + ".pb.cc" for stem in stems]
    plugin = ""
    if grpc:
        headers += [stem + ".grpc.pb.h" for stem in stems]
        sources += [stem + ".grpc.pb.cc" for stem in stems]
        plugin = (" --grpc_out=$(GENDIR)" +
                  " --plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin)")
    native.genrule(
        name = name + "_gen",
        srcs = srcs + [d + "_srcs" for d in deps],
        outs = headers + sources,
        cmd = "protoc --proto_path=. --cpp_out=$(GENDIR)" + plugin + " " +
              " ".join(["$(location %s)" % src for src in srcs]),
    )
    native.filegroup(name = name + "_srcs", srcs = srcs, visibility = visibility)
    cc_library(
        name = name,
        srcs = sources,
        hdrs = headers,
        deps = deps + ["@system//:grpc" if grpc else "@system//:protobuf"],
        visibility = visibility,
    )
