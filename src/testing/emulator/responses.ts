/**
 * The emulated server's non-streaming responses: headers every response
 * carries and the error bodies of the eventstreams service.
 *
 * @module
 */

const CSP =
  "default-src 'self'; object-src 'none'; media-src *; img-src *; style-src *; frame-ancestors 'self'";

/** Headers the eventstreams app sets on every response (CORS and CSP). */
export const COMMON_HEADERS: Readonly<Record<string, string>> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "accept, x-requested-with, content-type",
  "access-control-expose-headers": "etag",
  "x-xss-protection": "1; mode=block",
  "x-content-type-options": "nosniff",
  "x-frame-options": "SAMEORIGIN",
  "content-security-policy": CSP,
  "x-content-security-policy": CSP,
  "x-webkit-csp": CSP,
};

/** What the service's error handler needs from the request. */
export interface RequestLine {
  /** The HTTP method. */
  method: string;
  /** The path and query as requested. */
  uri: string;
}

/**
 * The body of an HTTPError as the eventstreams service sends it:
 * `{status, type, title, detail, method, uri}`.
 */
export function serviceErrorBody(
  request: RequestLine,
  status: number,
  type: string,
  title: string,
  detail: string,
): string {
  return JSON.stringify({
    status,
    type,
    title,
    detail,
    method: request.method,
    uri: request.uri,
  });
}

/** An `application/json` error response like Express's `res.json`. */
export function jsonResponse(
  status: number,
  body: string,
  extra: Record<string, string> = {},
): Response {
  return new Response(body, {
    status,
    headers: {
      ...COMMON_HEADERS,
      "content-type": "application/json; charset=utf-8",
      ...extra,
    },
  });
}

/** The default body of a scripted status fault. */
export function statusFaultBody(request: RequestLine, status: number): string {
  switch (status) {
    case 429:
      // Per the eventstreams service (routes/stream.js), byte for byte.
      return serviceErrorBody(
        request,
        429,
        "too_many_requests",
        "Too Many Concurrent Connections From Your Client IP",
        "Your HTTP client is likely opening too many concurrent connections.",
      );
    case 500:
      return serviceErrorBody(
        request,
        500,
        "internal_error",
        "InternalError",
        "Emulated internal error",
      );
    case 502:
      return serviceErrorBody(
        request,
        502,
        "bad_gateway",
        "Bad Gateway",
        "Emulated bad gateway",
      );
    case 503:
      return serviceErrorBody(
        request,
        503,
        "service_unavailable",
        "Service Unavailable",
        "Emulated unavailable backend",
      );
    default:
      return serviceErrorBody(
        request,
        status,
        "emulated_error",
        `Emulated ${status}`,
        "",
      );
  }
}

/** Express's default 404 for an unknown route. */
export function notFoundResponse(method: string, path: string): Response {
  const body =
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    "<title>Error</title>\n</head>\n<body>\n<pre>Cannot " + escapeHtml(method) +
    " " +
    escapeHtml(path) + "</pre>\n</body>\n</html>\n";
  return new Response(body, {
    status: 404,
    headers: { ...COMMON_HEADERS, "content-type": "text/html; charset=utf-8" },
  });
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  );
}
