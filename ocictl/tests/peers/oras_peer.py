"""Drives the Python `oras` package (PyPI) for the interop tests.

    python3 oras_peer.py push HOST TARGET FILE...   (run in the files' directory)
    python3 oras_peer.py pull HOST TARGET OUTDIR
"""

import sys

import oras.client


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    command, host, target = argv[1], argv[2], argv[3]
    client = oras.client.OrasClient(hostname=host, insecure=True)
    if command == "push":
        response = client.push(files=argv[4:], target=target)
        response.raise_for_status()
    elif command == "pull":
        for path in client.pull(target=target, outdir=argv[4], overwrite=True):
            print(path)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
