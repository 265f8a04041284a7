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

def cc_system_grpc_proto(name, proto, compiled_in_grpc = False,
                         visibility = None):
    """A cc_library of messages and gRPC stubs from a .proto of Debian's
    grpc-proto package (/usr/share/grpc-proto), such as
    "grpc/health/v1/health.proto". Include it by that path:
    #include "grpc/health/v1/health.grpc.pb.h".

    With compiled_in_grpc = True only the headers are made: gRPC's own
    libraries already hold the code (and registering a descriptor twice
    aborts the process), as libgrpc++_reflection does for reflection.
    """
    root = "/usr/share/grpc-proto"
    stem = proto[:-len(".proto")]
    headers = [stem + ".pb.h", stem + ".grpc.pb.h"]
    sources = [stem + ".pb.cc", stem + ".grpc.pb.cc"]
    native.genrule(
        name = name + "_gen",
        outs = headers + sources,
        cmd = ("protoc --proto_path=%s --cpp_out=$(RULEDIR) " % root +
               "--grpc_out=$(RULEDIR) " +
               "--plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin) " +
               "%s/%s" % (root, proto)),
    )
    cc_library(
        name = name,
        srcs = [] if compiled_in_grpc else sources,
        hdrs = headers,
        includes = ["."],
        deps = ["@system//:grpc"],
        visibility = visibility,
    )
