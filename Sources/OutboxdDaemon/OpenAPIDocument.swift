/// The OpenAPI 3.1 description of the HTTP API, served at `GET /openapi.json`: docs/openapi.json
/// word for word (written by scripts/openapi-embed.sh; OpenAPIDocumentTests keeps them identical).
public enum OpenAPIDocument {
    public static let text = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "outboxd Task API",
        "version": "0.13.0",
        "description": "Tasks whose every change is announced by an event, written in the same PostgreSQL transaction and published to Kafka by outboxd's relay (the transactional outbox). JSON in and out; errors are application/problem+json (RFC 9457) and a rejected request writes nothing. With API_TOKENS set, every /tasks route needs a bearer token; /healthz, /readyz, /metrics and /openapi.json need one only with HEALTH_METRICS_AUTH=token. A W3C Trace Context (traceparent, tracestate) on a request that writes is stored with its events and sent as Kafka headers."
      },
      "servers": [
        {
          "url": "http://127.0.0.1:8080",
          "description": "the default HTTP_LISTEN"
        }
      ],
      "security": [
        {
          "bearer": []
        },
        {}
      ],
      "paths": {
        "/tasks": {
          "post": {
            "operationId": "createTask",
            "summary": "Create a task; emits task.created",
            "parameters": [
              {
                "$ref": "#/components/parameters/Idempotency-Key"
              },
              {
                "$ref": "#/components/parameters/Prefer"
              },
              {
                "$ref": "#/components/parameters/traceparent"
              },
              {
                "$ref": "#/components/parameters/tracestate"
              }
            ],
            "requestBody": {
              "required": true,
              "content": {
                "application/json": {
                  "schema": {
                    "$ref": "#/components/schemas/NewTask"
                  }
                }
              }
            },
            "responses": {
              "201": {
                "description": "Created (with Prefer: wait=N, once the relay has the event's delivery report: event names its partition and offset). A retry with the same Idempotency-Key and body answers the same, with Idempotent-Replayed: true, and writes nothing.",
                "headers": {
                  "Location": {
                    "$ref": "#/components/headers/Location"
                  },
                  "ETag": {
                    "$ref": "#/components/headers/ETag"
                  },
                  "Idempotent-Replayed": {
                    "$ref": "#/components/headers/Idempotent-Replayed"
                  },
                  "Preference-Applied": {
                    "$ref": "#/components/headers/Preference-Applied"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/CreatedTask"
                    }
                  }
                }
              },
              "202": {
                "description": "Prefer: wait=N passed without a delivery report: the task and its event are committed (safe in the outbox); event names only the id.",
                "headers": {
                  "Location": {
                    "$ref": "#/components/headers/Location"
                  },
                  "ETag": {
                    "$ref": "#/components/headers/ETag"
                  },
                  "Preference-Applied": {
                    "description": "wait=N: the wait was honoured",
                    "required": true,
                    "schema": {
                      "type": "string"
                    }
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/CreatedTask"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "413": {
                "$ref": "#/components/responses/ContentTooLarge"
              },
              "415": {
                "$ref": "#/components/responses/UnsupportedMediaType"
              },
              "422": {
                "$ref": "#/components/responses/Unprocessable"
              },
              "414": {
                "$ref": "#/components/responses/URITooLong"
              },
              "431": {
                "$ref": "#/components/responses/HeadersTooLarge"
              },
              "501": {
                "$ref": "#/components/responses/NotImplemented"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "500": {
                "$ref": "#/components/responses/InternalError"
              }
            }
          },
          "get": {
            "operationId": "listTasks",
            "summary": "List tasks in creation order (keyset pages)",
            "parameters": [
              {
                "name": "status",
                "in": "query",
                "schema": {
                  "$ref": "#/components/schemas/TaskStatus"
                }
              },
              {
                "$ref": "#/components/parameters/limit"
              },
              {
                "name": "after",
                "in": "query",
                "description": "next_after of the previous page",
                "schema": {
                  "type": "string"
                }
              }
            ],
            "responses": {
              "200": {
                "description": "A page of tasks",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/TaskPage"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "413": {
                "$ref": "#/components/responses/ContentTooLarge"
              },
              "414": {
                "$ref": "#/components/responses/URITooLong"
              },
              "431": {
                "$ref": "#/components/responses/HeadersTooLarge"
              },
              "501": {
                "$ref": "#/components/responses/NotImplemented"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "500": {
                "$ref": "#/components/responses/InternalError"
              }
            }
          }
        },
        "/tasks/{id}": {
          "parameters": [
            {
              "$ref": "#/components/parameters/id"
            }
          ],
          "get": {
            "operationId": "getTask",
            "summary": "Read a task",
            "responses": {
              "200": {
                "description": "The task",
                "headers": {
                  "ETag": {
                    "$ref": "#/components/headers/ETag"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Task"
                    }
                  }
                }
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "413": {
                "$ref": "#/components/responses/ContentTooLarge"
              },
              "414": {
                "$ref": "#/components/responses/URITooLong"
              },
              "431": {
                "$ref": "#/components/responses/HeadersTooLarge"
              },
              "501": {
                "$ref": "#/components/responses/NotImplemented"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "500": {
                "$ref": "#/components/responses/InternalError"
              }
            }
          },
          "patch": {
            "operationId": "updateTask",
            "summary": "Change any subset of the fields (null clears description and due_at); emits task.updated, and task.completed when the status becomes done",
            "parameters": [
              {
                "$ref": "#/components/parameters/If-Match"
              },
              {
                "$ref": "#/components/parameters/traceparent"
              },
              {
                "$ref": "#/components/parameters/tracestate"
              }
            ],
            "requestBody": {
              "required": true,
              "content": {
                "application/json": {
                  "schema": {
                    "$ref": "#/components/schemas/TaskPatch"
                  }
                },
                "application/merge-patch+json": {
                  "schema": {
                    "$ref": "#/components/schemas/TaskPatch"
                  }
                }
              }
            },
            "responses": {
              "200": {
                "description": "The changed task",
                "headers": {
                  "ETag": {
                    "$ref": "#/components/headers/ETag"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Task"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "409": {
                "description": "The task holds a time another writer stored outside RFC 3339 that this PATCH would keep (due_at can be replaced in the same PATCH)",
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                },
                "headers": {
                  "ETag": {
                    "$ref": "#/components/headers/ETag"
                  }
                }
              },
              "412": {
                "$ref": "#/components/responses/PreconditionFailed"
              },
              "413": {
                "$ref": "#/components/responses/ContentTooLarge"
              },
              "415": {
                "$ref": "#/components/responses/UnsupportedMediaType"
              },
              "422": {
                "$ref": "#/components/responses/Unprocessable"
              },
              "414": {
                "$ref": "#/components/responses/URITooLong"
              },
              "431": {
                "$ref": "#/components/responses/HeadersTooLarge"
              },
              "501": {
                "$ref": "#/components/responses/NotImplemented"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "500": {
                "$ref": "#/components/responses/InternalError"
              }
            }
          },
          "delete": {
            "operationId": "deleteTask",
            "summary": "Delete a task; emits task.deleted with its last state",
            "parameters": [
              {
                "$ref": "#/components/parameters/If-Match"
              },
              {
                "$ref": "#/components/parameters/traceparent"
              },
              {
                "$ref": "#/components/parameters/tracestate"
              }
            ],
            "responses": {
              "204": {
                "description": "Deleted"
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "412": {
                "$ref": "#/components/responses/PreconditionFailed"
              },
              "413": {
                "$ref": "#/components/responses/ContentTooLarge"
              },
              "414": {
                "$ref": "#/components/responses/URITooLong"
              },
              "431": {
                "$ref": "#/components/responses/HeadersTooLarge"
              },
              "501": {
                "$ref": "#/components/responses/NotImplemented"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "500": {
                "$ref": "#/components/responses/InternalError"
              }
            }
          }
        },
        "/tasks/{id}/history": {
          "parameters": [
            {
              "$ref": "#/components/parameters/id"
            }
          ],
          "get": {
            "operationId": "taskHistory",
            "summary": "What the audit consumer recorded for the task, oldest first (also after the task was deleted)",
            "parameters": [
              {
                "$ref": "#/components/parameters/limit"
              },
              {
                "name": "after",
                "in": "query",
                "description": "next_after of the previous page of this task's history",
                "schema": {
                  "type": "string"
                }
              }
            ],
            "responses": {
              "200": {
                "description": "A page of the task's history",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/History"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "413": {
                "$ref": "#/components/responses/ContentTooLarge"
              },
              "414": {
                "$ref": "#/components/responses/URITooLong"
              },
              "431": {
                "$ref": "#/components/responses/HeadersTooLarge"
              },
              "501": {
                "$ref": "#/components/responses/NotImplemented"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "500": {
                "$ref": "#/components/responses/InternalError"
              }
            }
          }
        },
        "/healthz": {
          "get": {
            "operationId": "health",
            "summary": "The process answers",
            "security": [
              {
                "bearer": []
              },
              {}
            ],
            "responses": {
              "200": {
                "description": "Alive",
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "object",
                      "properties": {
                        "status": {
                          "type": "string",
                          "enum": [
                            "ok"
                          ]
                        }
                      },
                      "required": [
                        "status"
                      ],
                      "additionalProperties": false
                    }
                  }
                }
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "413": {
                "$ref": "#/components/responses/ContentTooLarge"
              },
              "414": {
                "$ref": "#/components/responses/URITooLong"
              },
              "431": {
                "$ref": "#/components/responses/HeadersTooLarge"
              },
              "501": {
                "$ref": "#/components/responses/NotImplemented"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              }
            }
          }
        },
        "/readyz": {
          "get": {
            "operationId": "readiness",
            "summary": "Each component's state: database, parts, Kafka and relay (where this process runs them), http listeners, consumers",
            "responses": {
              "200": {
                "description": "Ready",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Readiness"
                    }
                  }
                }
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "413": {
                "$ref": "#/components/responses/ContentTooLarge"
              },
              "414": {
                "$ref": "#/components/responses/URITooLong"
              },
              "431": {
                "$ref": "#/components/responses/HeadersTooLarge"
              },
              "501": {
                "$ref": "#/components/responses/NotImplemented"
              },
              "503": {
                "description": "A component is down (the body names it), or the server is shutting down (problem+json)",
                "headers": {
                  "Retry-After": {
                    "description": "Seconds to wait before asking again (absent when shutting down)",
                    "schema": {
                      "type": "string"
                    }
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Readiness"
                    }
                  },
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              }
            }
          }
        },
        "/readyz/api": {
          "get": {
            "operationId": "apiReadiness",
            "summary": "The API's own readiness: the database, parts and http listeners (a relay stalled on Kafka is left out, G4). For load balancers",
            "responses": {
              "200": {
                "description": "Ready",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Readiness"
                    }
                  }
                }
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "413": {
                "$ref": "#/components/responses/ContentTooLarge"
              },
              "414": {
                "$ref": "#/components/responses/URITooLong"
              },
              "431": {
                "$ref": "#/components/responses/HeadersTooLarge"
              },
              "501": {
                "$ref": "#/components/responses/NotImplemented"
              },
              "503": {
                "description": "A component is down (the body names it), or the server is shutting down (problem+json)",
                "headers": {
                  "Retry-After": {
                    "description": "Seconds to wait before asking again (absent when shutting down)",
                    "schema": {
                      "type": "string"
                    }
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Readiness"
                    }
                  },
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              }
            }
          }
        },
        "/metrics": {
          "get": {
            "operationId": "metrics",
            "summary": "Prometheus text format",
            "responses": {
              "200": {
                "description": "The metrics",
                "content": {
                  "text/plain; version=0.0.4; charset=utf-8": {
                    "schema": {
                      "type": "string"
                    }
                  }
                }
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "413": {
                "$ref": "#/components/responses/ContentTooLarge"
              },
              "414": {
                "$ref": "#/components/responses/URITooLong"
              },
              "431": {
                "$ref": "#/components/responses/HeadersTooLarge"
              },
              "501": {
                "$ref": "#/components/responses/NotImplemented"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              }
            }
          }
        },
        "/openapi.json": {
          "get": {
            "operationId": "openAPIDocument",
            "summary": "This document",
            "responses": {
              "200": {
                "description": "The OpenAPI 3.1 description of this API",
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "object",
                      "required": [
                        "openapi",
                        "info",
                        "paths"
                      ]
                    }
                  }
                }
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "413": {
                "$ref": "#/components/responses/ContentTooLarge"
              },
              "414": {
                "$ref": "#/components/responses/URITooLong"
              },
              "431": {
                "$ref": "#/components/responses/HeadersTooLarge"
              },
              "501": {
                "$ref": "#/components/responses/NotImplemented"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              }
            }
          }
        }
      },
      "components": {
        "securitySchemes": {
          "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "One of API_TOKENS. Without API_TOKENS no route needs a token; /healthz, /readyz, /metrics and /openapi.json need one only with HEALTH_METRICS_AUTH=token."
          }
        },
        "parameters": {
          "id": {
            "name": "id",
            "in": "path",
            "required": true,
            "description": "The task id (a UUID; anything else is a 404)",
            "schema": {
              "type": "string"
            }
          },
          "limit": {
            "name": "limit",
            "in": "query",
            "description": "Items per page, 1–100 (default 20)",
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 100,
              "default": 20
            }
          },
          "Idempotency-Key": {
            "name": "Idempotency-Key",
            "in": "header",
            "description": "Makes a retry safe: the same key with the same body answers the first result and writes nothing; with another body, 422.",
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 200,
              "pattern": "^[!-~]+$"
            }
          },
          "Prefer": {
            "name": "Prefer",
            "in": "header",
            "description": "wait=N (N ≤ 60 seconds): answer once the relay has the event's delivery report (201 with event.partition and event.offset), or 202 after N seconds",
            "schema": {
              "type": "string"
            },
            "example": "wait=5"
          },
          "If-Match": {
            "name": "If-Match",
            "in": "header",
            "description": "* (any version) or a list of the task's ETags (\"3\", or \"3\", \"4\"): the change applies only at one of those versions, else 412. If-Match uses the strong comparison (RFC 9110 §13.1.1), so a weak ETag (W/\"3\") never matches; an element that is not a version is a 400",
            "schema": {
              "type": "string"
            },
            "example": "\"3\""
          },
          "traceparent": {
            "name": "traceparent",
            "in": "header",
            "description": "W3C Trace Context: stored with the request's events (outbox.headers) and sent as a Kafka header. A malformed one, or one sent twice, is ignored (never an error), and then tracestate too.",
            "schema": {
              "type": "string"
            },
            "example": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
          },
          "tracestate": {
            "name": "tracestate",
            "in": "header",
            "description": "W3C Trace Context list members; several lines are joined with a comma. Stored with a valid traceparent when it is a valid list of at most 32 members and 512 characters; dropped otherwise (never an error).",
            "schema": {
              "type": "string"
            },
            "example": "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
          }
        },
        "headers": {
          "Location": {
            "description": "/tasks/{id} of the created task",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          "ETag": {
            "description": "The task's version as a strong validator, e.g. \"3\"",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          "Idempotent-Replayed": {
            "description": "true when the response replays an earlier request with the same Idempotency-Key",
            "schema": {
              "type": "string",
              "enum": [
                "true"
              ]
            }
          },
          "Preference-Applied": {
            "description": "wait=N when Prefer: wait=N was honoured",
            "schema": {
              "type": "string"
            }
          },
          "Retry-After": {
            "description": "Seconds to wait before retrying",
            "schema": {
              "type": "string"
            }
          },
          "WWW-Authenticate": {
            "description": "Bearer realm=\"outboxd\"",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        },
        "responses": {
          "BadRequest": {
            "description": "Malformed JSON (with the byte offset), a bad query parameter or header (If-Match, Idempotency-Key), or, on any route, an HTTP/1.1 request without Host or any request with an invalid Host, a header that must come once sent twice (Content-Type, Authorization, Idempotency-Key, If-Match, Host), ambiguous framing (two Content-Length, or one with Transfer-Encoding), Transfer-Encoding whose final coding is not chunked, names chunked twice, or comes in an HTTP/1.0 request (those with a framing fault or an unread body close the connection)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "Unauthorized": {
            "description": "A missing, malformed or unknown bearer token (only with API_TOKENS set)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            },
            "headers": {
              "WWW-Authenticate": {
                "$ref": "#/components/headers/WWW-Authenticate"
              }
            }
          },
          "NotFound": {
            "description": "No task with that id",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "PreconditionFailed": {
            "description": "If-Match named another version; ETag is the current one",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            },
            "headers": {
              "ETag": {
                "$ref": "#/components/headers/ETag"
              }
            }
          },
          "ContentTooLarge": {
            "description": "The body is over HTTP_MAX_BODY_BYTES (any route)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "UnsupportedMediaType": {
            "description": "A Content-Type other than application/json (or application/merge-patch+json on PATCH)",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "Unprocessable": {
            "description": "Invalid or unknown fields (each named in errors by its JSON pointer), or an Idempotency-Key reused with another body",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "InternalError": {
            "description": "An unexpected error; the details are only in the server log",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "Unavailable": {
            "description": "The database is unreachable for now, a group commit gave up (nothing was written), or the server is shutting down",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            },
            "headers": {
              "Retry-After": {
                "$ref": "#/components/headers/Retry-After"
              }
            }
          },
          "URITooLong": {
            "description": "More query parameters than 100 (a problem naming the limit; the connection stays unless a body was sent), or a request line over HTTP_MAX_HEADER_BYTES: libmicrohttpd's own answer (an HTML page sent without Content-Type), then the connection closes",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              },
              "*/*": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "HeadersTooLarge": {
            "description": "Request line and headers over HTTP_MAX_HEADER_BYTES: libmicrohttpd's own answer (an HTML page sent without Content-Type), then the connection closes",
            "content": {
              "*/*": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "NotImplemented": {
            "description": "Transfer-Encoding names a coding before chunked (gzip, chunked), or spells chunked alone other than exactly chunked on one line: not supported here (RFC 9112 §6.1); the connection closes",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          }
        },
        "schemas": {
          "TaskStatus": {
            "type": "string",
            "enum": [
              "todo",
              "in_progress",
              "done"
            ]
          },
          "Task": {
            "type": "object",
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid"
              },
              "title": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200
              },
              "description": {
                "type": [
                  "string",
                  "null"
                ],
                "maxLength": 10000
              },
              "status": {
                "$ref": "#/components/schemas/TaskStatus"
              },
              "due_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "description": "null when unset, or when another writer stored a time RFC 3339 cannot express (then named in out_of_range)"
              },
              "created_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "description": "null only when another writer stored a time RFC 3339 cannot express"
              },
              "updated_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "description": "null only when another writer stored a time RFC 3339 cannot express"
              },
              "version": {
                "type": "integer",
                "minimum": 1
              },
              "out_of_range": {
                "$ref": "#/components/schemas/OutOfRange"
              }
            },
            "required": [
              "id",
              "title",
              "description",
              "status",
              "due_at",
              "created_at",
              "updated_at",
              "version"
            ],
            "additionalProperties": false
          },
          "CreatedTask": {
            "type": "object",
            "description": "A task; with Prefer: wait=N also the event",
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid"
              },
              "title": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200
              },
              "description": {
                "type": [
                  "string",
                  "null"
                ],
                "maxLength": 10000
              },
              "status": {
                "$ref": "#/components/schemas/TaskStatus"
              },
              "due_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "description": "null when unset, or when another writer stored a time RFC 3339 cannot express (then named in out_of_range)"
              },
              "created_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "description": "null only when another writer stored a time RFC 3339 cannot express"
              },
              "updated_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "description": "null only when another writer stored a time RFC 3339 cannot express"
              },
              "version": {
                "type": "integer",
                "minimum": 1
              },
              "out_of_range": {
                "$ref": "#/components/schemas/OutOfRange"
              },
              "event": {
                "$ref": "#/components/schemas/EventDelivery"
              }
            },
            "required": [
              "id",
              "title",
              "description",
              "status",
              "due_at",
              "created_at",
              "updated_at",
              "version"
            ],
            "additionalProperties": false
          },
          "EventDelivery": {
            "type": "object",
            "properties": {
              "id": {
                "type": "string",
                "format": "uuid",
                "description": "The event id (the ce_id header in Kafka)"
              },
              "partition": {
                "type": [
                  "integer",
                  "null"
                ]
              },
              "offset": {
                "type": [
                  "integer",
                  "null"
                ]
              }
            },
            "required": [
              "id"
            ],
            "additionalProperties": false
          },
          "OutOfRange": {
            "type": "object",
            "description": "Fields whose stored time RFC 3339 cannot express, with PostgreSQL's spelling (e.g. infinity); present only then",
            "properties": {
              "due_at": {
                "type": "string"
              },
              "created_at": {
                "type": "string"
              },
              "updated_at": {
                "type": "string"
              }
            },
            "additionalProperties": false
          },
          "NewTask": {
            "type": "object",
            "properties": {
              "title": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200
              },
              "description": {
                "type": [
                  "string",
                  "null"
                ],
                "maxLength": 10000
              },
              "status": {
                "$ref": "#/components/schemas/TaskStatus"
              },
              "due_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "description": "RFC 3339 with a zone"
              }
            },
            "required": [
              "title"
            ],
            "additionalProperties": false
          },
          "TaskPatch": {
            "type": "object",
            "minProperties": 1,
            "properties": {
              "title": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200
              },
              "description": {
                "type": [
                  "string",
                  "null"
                ],
                "maxLength": 10000
              },
              "status": {
                "$ref": "#/components/schemas/TaskStatus"
              },
              "due_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time"
              }
            },
            "additionalProperties": false
          },
          "TaskPage": {
            "type": "object",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/Task"
                }
              },
              "next_after": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "pass as after for the next page; null on the last"
              }
            },
            "required": [
              "items",
              "next_after"
            ],
            "additionalProperties": false
          },
          "History": {
            "type": "object",
            "properties": {
              "task_id": {
                "type": "string",
                "format": "uuid"
              },
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/HistoryItem"
                }
              },
              "next_after": {
                "type": [
                  "string",
                  "null"
                ]
              }
            },
            "required": [
              "task_id",
              "items",
              "next_after"
            ],
            "additionalProperties": false
          },
          "HistoryItem": {
            "type": "object",
            "properties": {
              "event_id": {
                "type": "string",
                "format": "uuid"
              },
              "event_type": {
                "type": "string"
              },
              "occurred_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time"
              },
              "recorded_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time"
              },
              "payload": {
                "description": "The event's payload as the audit consumer recorded it"
              }
            },
            "required": [
              "event_id",
              "event_type",
              "occurred_at",
              "recorded_at",
              "payload"
            ],
            "additionalProperties": false
          },
          "Readiness": {
            "type": "object",
            "properties": {
              "status": {
                "type": "string",
                "enum": [
                  "ready",
                  "not_ready"
                ]
              },
              "components": {
                "type": "object",
                "additionalProperties": {
                  "$ref": "#/components/schemas/Component"
                }
              }
            },
            "required": [
              "status",
              "components"
            ],
            "additionalProperties": false
          },
          "Component": {
            "type": "object",
            "properties": {
              "status": {
                "type": "string",
                "enum": [
                  "up",
                  "down"
                ]
              }
            },
            "required": [
              "status"
            ]
          },
          "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details",
            "properties": {
              "type": {
                "type": "string"
              },
              "title": {
                "type": "string"
              },
              "status": {
                "type": "integer",
                "minimum": 400,
                "maximum": 599
              },
              "detail": {
                "type": "string"
              },
              "errors": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/FieldError"
                }
              }
            },
            "required": [
              "type",
              "title",
              "status"
            ],
            "additionalProperties": false
          },
          "FieldError": {
            "type": "object",
            "properties": {
              "pointer": {
                "type": "string",
                "description": "JSON pointer of the field (/title)"
              },
              "detail": {
                "type": "string"
              }
            },
            "required": [
              "pointer",
              "detail"
            ],
            "additionalProperties": false
          }
        }
      }
    }

    """#
}
