#!/usr/bin/env bash
# make fitzrovia: see docs/fitzrovia.md.  Not yet written.
echo "make fitzrovia is not available yet" >&2
exit 1
