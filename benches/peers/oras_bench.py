"""The Python `oras` package (PyPI) as a benchmark peer.

    python3 oras_bench.py push HOST TARGET FILE   (FILE is pushed by its name, from its folder)
    python3 oras_bench.py pull HOST TARGET OUTDIR
"""

import os
import sys

import oras.client


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    command, host, target, path = argv[1:]
    client = oras.client.OrasClient(hostname=host, insecure=True)
    if command == "push":
        os.chdir(os.path.dirname(os.path.abspath(path)))
        client.push(files=[os.path.basename(path)], target=target).raise_for_status()
    elif command == "pull":
        client.pull(target=target, outdir=path, overwrite=True)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
