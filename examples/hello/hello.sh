#!/bin/sh
echo "$(cat "$GREETING_FILE") (host $(hostname))"
