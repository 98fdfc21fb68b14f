"""The fewest requests a registry without single-request uploads takes for a copy of an image
index from an OCI layout, sent by the standard library alone: a floor for copy clients.

    python3 fewest_requests.py HOST REPOSITORY LAYOUT TAG CONCURRENCY

Each blob is one POST opening an upload and one PUT carrying the content and its digest; each
manifest is one PUT after its blobs, the index last. No existence checks, no retries, no
verification of what is read. CONCURRENCY threads each keep one connection open and take the
index's children one at a time, so at most CONCURRENCY requests are open at once.
"""

import http.client
import json
import os
import queue
import sys
import threading
from urllib.parse import urlsplit


def main(argv):
    if len(argv) != 6:
        sys.exit(__doc__)
    host, repository, layout, tag, concurrency = argv[1:]
    hostname, port = host.rsplit(":", 1)

    def read(digest):
        algorithm, encoded = digest.split(":", 1)
        with open(os.path.join(layout, "blobs", algorithm, encoded), "rb") as f:
            return f.read()

    with open(os.path.join(layout, "index.json"), "rb") as f:
        tagged = [
            d
            for d in json.load(f)["manifests"]
            if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
        ]
    if len(tagged) != 1:
        sys.exit(f"{layout} has no single manifest tagged {tag}")
    root = tagged[0]

    local = threading.local()

    def send(method, path, body=b"", content_type=None):
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(hostname, int(port))
        headers = {"Content-Length": str(len(body))}
        if content_type:
            headers["Content-Type"] = content_type
        local.connection.request(method, path, body=body, headers=headers)
        response = local.connection.getresponse()
        response.read()
        if response.status >= 300:
            sys.exit(f"{method} {path}: HTTP {response.status}")
        return response

    def push_blob(descriptor):
        opened = send("POST", f"/v2/{repository}/blobs/uploads/")
        location = urlsplit(opened.getheader("Location"))
        query = f"{location.query}&" if location.query else ""
        send(
            "PUT",
            f"{location.path}?{query}digest={descriptor['digest']}",
            read(descriptor["digest"]),
            "application/octet-stream",
        )

    def push_manifest(descriptor, reference):
        send(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            read(descriptor["digest"]),
            descriptor["mediaType"],
        )

    def push_image(descriptor):
        manifest = json.loads(read(descriptor["digest"]))
        for blob in [manifest["config"], *manifest["layers"]]:
            push_blob(blob)
        push_manifest(descriptor, descriptor["digest"])

    children = queue.Queue()
    for child in json.loads(read(root["digest"]))["manifests"]:
        children.put(child)
    failed = []

    def work():
        try:
            while True:
                try:
                    child = children.get_nowait()
                except queue.Empty:
                    return
                push_image(child)
        except BaseException as e:  # a worker's failure fails the copy
            failed.append(e)

    threads = [threading.Thread(target=work) for _ in range(int(concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        sys.exit(f"copy failed: {failed[0]}")
    push_manifest(root, tag)


if __name__ == "__main__":
    main(sys.argv)
