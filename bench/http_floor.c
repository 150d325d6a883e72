/* http_floor.c: the libcurl floor for the workflow benchmark: N POSTs to one
 * URL through one reused easy handle (keep-alive), printing requests/second.
 * Licence: MIT (see LICENSE).
 *
 * Build and run (not part of the CMake build):
 *   mkdir -p bench/out && cc -std=c99 -O2 -Wall -o bench/out/http_floor bench/http_floor.c -lcurl
 *   bench/out/http_floor http://127.0.0.1:PORT/echo 5000 '{"n":1}'
 * Output: one line "<n> requests in <s> s: <r> req/s"; exit status 1 on the
 * first failed transfer or non-2xx status. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

/* Discard the response body; the floor measures transport cost only. */
static size_t discard(char *p, size_t size, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return size * n;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  const char *url, *body;
  long n, i, status = 0;
  double t0, dt;
  CURL *e;
  CURLcode rc = CURLE_OK;
  struct curl_slist *h = NULL;
  if (argc < 3) {
    fprintf(stderr, "usage: %s URL N [BODY]\n", argv[0]);
    return 2;
  }
  url = argv[1];
  n = strtol(argv[2], NULL, 10);
  body = argc > 3 ? argv[3] : "{}";
  if (n <= 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(e = curl_easy_init())) return 2;
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  t0 = now();
  for (i = 0; i < n; i++) {
    rc = curl_easy_perform(e);
    if (rc != CURLE_OK) break;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) break;
  }
  dt = now() - t0;
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  curl_global_cleanup();
  if (i < n) {
    fprintf(stderr, "request %ld failed: %s (status %ld)\n", i + 1, curl_easy_strerror(rc), status);
    return 1;
  }
  printf("%ld requests in %.3f s: %.0f req/s\n", n, dt, (double)n / dt);
  return 0;
}
