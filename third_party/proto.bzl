"""C++ code generation from .proto files with Debian's protoc, offline."""

load("@rules_cc//cc:defs.bzl", "cc_library")

def cc_proto(name, srcs, deps = [], visibility = None):
    """A cc_library of the messages in `srcs` (protoc --cpp_out).

    Imports resolve against the workspace root, so a file imports another
    as "pegasus/proto/x.proto"; list imported files' cc_proto targets in
    `deps` and their .proto files must be reachable through them.
    """
    headers = [src[:-len(".proto")] + ".pb.h" for src in srcs]
    sources = [src[:-len(".proto")] + ".pb.cc" for src in srcs]
    native.genrule(
        name = name + "_gen",
        srcs = srcs + [d + "_srcs" for d in deps],
        outs = headers + sources,
        cmd = "protoc --proto_path=. --cpp_out=$(GENDIR) " +
              " ".join(["$(location %s)" % src for src in srcs]),
    )
    native.filegroup(name = name + "_srcs", srcs = srcs, visibility = visibility)
    cc_library(
        name = name,
        srcs = sources,
        hdrs = headers,
        deps = deps + ["@system//:protobuf"],
        visibility = visibility,
    )
