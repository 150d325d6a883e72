/* http_floor.c: the libcurl floor for the workflow benchmark: the requests
 * of one workflow run (captured from the runner), sent N times in a bare
 * loop through one reused easy handle (keep-alive), timed.
 * Licence: MIT (see LICENSE).
 *
 * Build and run (not part of the CMake build; bench/run.sh does this):
 *   cc -std=c99 -O2 -Wall -Wextra -pedantic -o bench/out/http_floor bench/http_floor.c -lcurl
 *   bench/out/http_floor BASE-URL WIRE-FILE N [WARMUP]
 * WIRE-FILE is written by `bench/workflow.lua capture` (format below); each
 * request's path is appended to BASE-URL. Output: a human line, then
 * "RESULT floor <N> <wall seconds> <CPU seconds>". Exit status 1 on the
 * first failed transfer or non-2xx status, 2 on bad arguments or a
 * malformed wire file.
 *
 * Wire file format (text; body bytes are length-prefixed, taken verbatim):
 *   arazzo-wire 1
 *   useragent <User-Agent value>
 *   request <METHOD> <path>            (one block per request, in order)
 *   header <Name>: <value>             (zero or more, in send order)
 *   body <n>\n<n bytes>\n              (optional; absent = no body)
 *   end
 *
 * The easy handle gets the options of the runner's client that shape the
 * wire or the transfer (src/http.c client_defaults, l_request): NOSIGNAL,
 * the User-Agent, Accept-Encoding "" (all built-in encodings), protocols
 * http/https, a 30 s transfer timeout, "Expect:" and, for a body without a
 * Content-Type, "Content-Type:" (libcurl would add its form type). A POST
 * without a body sends an empty one, as the runner does. bench/wire_check.py
 * verifies that the bytes on the wire are the runner's. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/resource.h>

#include <curl/curl.h>

#define MAX_REQ 16

typedef struct {
  char *method, *url, *body; /* url: BASE + path, malloc'd; body may be NULL */
  size_t blen;
  struct curl_slist *hdrs;
} wreq;

typedef struct {
  char *text; /* the whole wire file; method/body point into it */
  size_t len, pos;
  char *agent;
  wreq req[MAX_REQ];
  int n;
} wire;

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

/* CPU seconds (user + system) this process has used: the client's own cost,
 * which other load on the machine does not inflate the way it does wall
 * time. */
static double cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

/* Read a whole file into a NUL-terminated malloc'd buffer; NULL on error. */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (buf = (char *)malloc((size_t)n + 1)) != NULL) {
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
      free(buf);
      buf = NULL;
    } else {
      buf[n] = '\0';
      *len = (size_t)n;
    }
  }
  fclose(f);
  return buf;
}

/* The next line of w->text, NUL-terminated in place (without its "\n");
 * NULL at the end of the text. */
static char *next_line(wire *w) {
  char *s, *nl;
  if (w->pos >= w->len) return NULL;
  s = w->text + w->pos;
  nl = memchr(s, '\n', w->len - w->pos);
  if (!nl) nl = w->text + w->len;
  *nl = '\0';
  w->pos = (size_t)(nl - w->text) + 1;
  return s;
}

/* Fill r from the lines after "request METHOD PATH" up to "end". Returns 0,
 * or -1 with a message on stderr. */
static int parse_request(wire *w, wreq *r, const char *base) {
  char *line, *sp, *path = NULL;
  struct curl_slist *s;
  sp = strchr(r->method, ' ');
  if (!sp) return fprintf(stderr, "wire: 'request METHOD PATH' expected\n"), -1;
  *sp = '\0';
  path = sp + 1;
  if (!(r->url = (char *)malloc(strlen(base) + strlen(path) + 1))) return -1;
  strcpy(r->url, base);
  strcat(r->url, path);
  while ((line = next_line(w)) != NULL && strcmp(line, "end") != 0) {
    if (strncmp(line, "header ", 7) == 0) {
      if (!(s = curl_slist_append(r->hdrs, line + 7))) return -1;
      r->hdrs = s;
    } else if (strncmp(line, "body ", 5) == 0) {
      r->blen = (size_t)strtoul(line + 5, NULL, 10);
      if (w->pos + r->blen + 1 > w->len || w->text[w->pos + r->blen] != '\n')
        return fprintf(stderr, "wire: body of %s %s is shorter than %lu bytes\n", r->method, path,
                       (unsigned long)r->blen), -1;
      r->body = w->text + w->pos;
      r->body[r->blen] = '\0';
      w->pos += r->blen + 1;
    } else {
      return fprintf(stderr, "wire: unexpected line '%s'\n", line), -1;
    }
  }
  if (!line) return fprintf(stderr, "wire: missing 'end'\n"), -1;
  return 0;
}

/* Add the header lines the runner's transport adds (src/http.c
 * build_headers): "Expect:" unless given, "Content-Type:" when a body is
 * sent without one. Returns 0, or -1 on out-of-memory. */
static int transport_headers(wreq *r) {
  int has_ct = 0, has_expect = 0;
  struct curl_slist *s;
  for (s = r->hdrs; s; s = s->next) {
    if (strncasecmp(s->data, "content-type:", 13) == 0) has_ct = 1;
    if (strncasecmp(s->data, "expect:", 7) == 0) has_expect = 1;
  }
  if (!has_expect && !(s = curl_slist_append(r->hdrs, "Expect:"))) return -1;
  if (!has_expect) r->hdrs = s;
  if ((r->body || strcmp(r->method, "POST") == 0) && !has_ct) {
    if (!(s = curl_slist_append(r->hdrs, "Content-Type:"))) return -1;
    r->hdrs = s;
  }
  return 0;
}

/* Parse the wire file at path into w. Returns 0, or -1 with a message. */
static int load_wire(wire *w, const char *path, const char *base) {
  char *line;
  memset(w, 0, sizeof *w);
  if (!(w->text = slurp(path, &w->len))) return fprintf(stderr, "wire: cannot read %s\n", path), -1;
  line = next_line(w);
  if (!line || strcmp(line, "arazzo-wire 1") != 0) return fprintf(stderr, "wire: bad header\n"), -1;
  while ((line = next_line(w)) != NULL) {
    if (strncmp(line, "useragent ", 10) == 0) {
      w->agent = line + 10;
    } else if (strncmp(line, "request ", 8) == 0 && w->n < MAX_REQ) {
      wreq *r = &w->req[w->n++];
      r->method = line + 8;
      if (parse_request(w, r, base) != 0 || transport_headers(r) != 0) return -1;
    } else if (line[0] != '\0') {
      return fprintf(stderr, "wire: unexpected line '%s'\n", line), -1;
    }
  }
  if (w->n == 0 || !w->agent) return fprintf(stderr, "wire: no requests or no useragent\n"), -1;
  return 0;
}

static void free_wire(wire *w) {
  int i;
  for (i = 0; i < w->n; i++) {
    free(w->req[i].url);
    curl_slist_free_all(w->req[i].hdrs);
  }
  free(w->text);
}

/* Send one request on e. Returns 0 on a 2xx answer, else -1 (message on
 * stderr). */
static int send_one(CURL *e, const wreq *r) {
  long status = 0;
  CURLcode rc;
  int post = strcmp(r->method, "POST") == 0;
  curl_easy_setopt(e, CURLOPT_URL, r->url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
  if (r->body || post) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->blen);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
  } else {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  }
  if (!post && strcmp(r->method, "GET") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
  rc = curl_easy_perform(e);
  if (rc == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_OK && status >= 200 && status <= 299) return 0;
  fprintf(stderr, "%s %s failed: %s (status %ld)\n", r->method, r->url, curl_easy_strerror(rc), status);
  return -1;
}

/* Run n workflows (every request of w in order, n times). Returns 0 or -1. */
static int run(CURL *e, const wire *w, long n) {
  long i;
  int k;
  for (i = 0; i < n; i++)
    for (k = 0; k < w->n; k++)
      if (send_one(e, &w->req[k]) != 0) return -1;
  return 0;
}

/* The runner's client options (see the file comment). */
static void setup(CURL *e, const wire *w) {
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_USERAGENT, w->agent);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
}

int main(int argc, char **argv) {
  wire w;
  long n, warm;
  double t0, c0 = 0, dt = 0, dc = 0;
  int rc = 2;
  CURL *e = NULL;
  if (argc < 4 || (n = strtol(argv[3], NULL, 10)) <= 0) {
    fprintf(stderr, "usage: %s BASE-URL WIRE-FILE N [WARMUP]\n", argv[0]);
    return 2;
  }
  warm = argc > 4 ? strtol(argv[4], NULL, 10) : 0;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 2;
  if (load_wire(&w, argv[2], argv[1]) == 0 && (e = curl_easy_init()) != NULL) {
    setup(e, &w);
    rc = 1;
    if (run(e, &w, warm) == 0) {
      c0 = cpu();
      t0 = now();
      if (run(e, &w, n) == 0) rc = 0;
      dt = now() - t0;
      dc = cpu() - c0;
    }
  }
  if (rc == 0) {
    printf("floor: %ld workflows (%ld requests) in %.3f s (CPU %.3f s): %.0f workflows/s\n", n, n * w.n, dt, dc,
           (double)n / dt);
    printf("RESULT floor %ld %.6f %.6f\n", n, dt, dc);
  }
  if (e) curl_easy_cleanup(e);
  free_wire(&w);
  curl_global_cleanup();
  return rc;
}
