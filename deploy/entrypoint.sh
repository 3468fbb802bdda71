#!/bin/sh
# Run one civicgrid service by name: intake | dispatch | enforcement | analytics.
set -eu
case "${1:-}" in
  intake|dispatch|enforcement|analytics) exec python -m "civicgrid_$1" ;;
  *) echo "usage: civicgrid intake|dispatch|enforcement|analytics" >&2; exit 64 ;;
esac
