"""The defaults of advkfp's tools, read from the tools themselves (`TOOL --print-component-spec`;
the image it asks for is a placeholder: defaults do not depend on it).

The benchmarks use the same values as the tools and the pipelines without writing them again: each
default has one home, the C++ Options struct the tool's flags and component are generated from.
"""
import os
import re
import subprocess


def tool_default(bin_dir, tool, param, cast=float):
    """The default of `tool`'s parameter `param` (snake_case), converted with `cast`."""
    binary = os.path.join(bin_dir, tool)
    try:
        spec = subprocess.run([binary, "--print-component-spec", "--image", "advkfp/defaults"], capture_output=True, text=True,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"{binary}: cannot read its defaults ({e}); build first or pass the value")
    m = re.search(r'^- name: %s\n(?:  .*\n)*?  default: "?([^"\n]*)"?$' % re.escape(param), spec,
                  re.M)
    if not m:
        raise SystemExit(f"{binary} --print-component-spec: no default for '{param}'")
    return cast(m.group(1))
