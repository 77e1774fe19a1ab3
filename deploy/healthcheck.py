"""Container health probe: exit 0 when URL (argv[1]) answers 2xx within 4 s, else 1.

Standard library only, so it runs in every image built from deploy/Dockerfile.
"""

import sys
import urllib.error
import urllib.request


def main() -> int:
    """Probe the URL given on the command line."""
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/livez"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 - fixed local URL
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError) as exc:
        sys.stderr.write(f"healthcheck {url}: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
