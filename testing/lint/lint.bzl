"""The determinism lint's view of a package."""

def lint_sources():
    """Exports every C++ file of the calling package as :lint_sources.

    //testing/lint:determinism_lint_test reads these as declared inputs, so
    it reruns when they change. Every package under //pegasus calls this
    once and is listed in testing/lint/BUILD.bazel.
    """
    native.filegroup(
        name = "lint_sources",
        srcs = native.glob([
            "**/*.h",
            "**/*.cc",
            "**/*.hpp",
            "**/*.cpp",
        ]),
        visibility = ["//testing/lint:__pkg__"],
    )
