#!/usr/bin/env bash
# Writes Sources/OutboxdDaemon/OpenAPIDocument.swift from docs/openapi.json (the document the
# daemon serves at GET /openapi.json); OpenAPIDocumentTests fails when the two differ.
set -euo pipefail
cd "$(dirname "$0")/.."
if grep -q '"""#' docs/openapi.json; then echo 'docs/openapi.json must not contain """#' >&2; exit 1; fi
{
  echo '/// The OpenAPI 3.1 description of the HTTP API, served at `GET /openapi.json`: docs/openapi.json'
  echo '/// word for word (written by scripts/openapi-embed.sh; OpenAPIDocumentTests keeps them identical).'
  echo 'public enum OpenAPIDocument {'
  echo '    public static let text = #"""'
  sed 's/^/    /' docs/openapi.json
  echo ''
  echo '    """#'
  echo '}'
} > Sources/OutboxdDaemon/OpenAPIDocument.swift
