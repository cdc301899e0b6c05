/*
 * The pure pieces of the HTTPS endpoint: per-key token buckets, query
 * decoding, HTML escaping, severity words, and protobuf-to-JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_service.h"
#include "klaxon.pb-c.h"
#include "pbjson.h"
#include "ratelimit.h"
#include "strbuf.h"

static void test_ratelimit_burst_and_refill(void **state)
{
    static struct ratelimit r;
    int allowed = 0;

    (void)state;
    ratelimit_init(&r, 5);
    for (int i = 0; i < 10; i++) {
        allowed += ratelimit_take(&r, "key-a", 1000);
    }
    assert_int_equal(allowed, 5); /* a second's worth, then refused */
    assert_true(ratelimit_take(&r, "key-b", 1000));  /* keys are separate */
    assert_false(ratelimit_take(&r, "key-a", 1100)); /* 0.5 token back */
    assert_true(ratelimit_take(&r, "key-a", 1200));  /* one token back */
    assert_false(ratelimit_take(&r, "key-a", 1200));
    allowed = 0;
    for (int i = 0; i < 10; i++) {
        allowed += ratelimit_take(&r, "key-a", 60000); /* refilled, capped */
    }
    assert_int_equal(allowed, 5);
}

/* A refusal says how long until the next token (the retry_after_ms of
 * RESOURCE_EXHAUSTED). */
static void test_ratelimit_wait(void **state)
{
    static struct ratelimit r;
    uint64_t wait = 0;

    (void)state;
    ratelimit_init(&r, 4); /* a token every 250 ms */
    for (int i = 0; i < 4; i++) {
        assert_true(ratelimit_take_wait(&r, "c", 1000, &wait));
    }
    assert_false(ratelimit_take_wait(&r, "c", 1000, &wait));
    assert_int_equal(wait, 251);
    assert_false(ratelimit_take_wait(&r, "c", 1100, &wait));
    assert_int_equal(wait, 151);
    assert_true(ratelimit_take_wait(&r, "c", 1000 + wait + 100, &wait));
}

static void test_ratelimit_table_full_forgets_the_idlest(void **state)
{
    static struct ratelimit r;
    char key[32];

    (void)state;
    ratelimit_init(&r, 1);
    assert_true(ratelimit_take(&r, "old", 0));
    assert_false(ratelimit_take(&r, "old", 0));
    for (int i = 0; i < RATELIMIT_KEYS; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_true(ratelimit_take(&r, key, 10 + (uint64_t)i));
    }
    /* "old" was the idlest and was forgotten: it starts full again. */
    assert_true(ratelimit_take(&r, "old", 5000 + 0));
}

static void test_query_decoding(void **state)
{
    static struct http_request rq;
    char buf[64];

    (void)state;
    rq.query = "service=pay%20ments&dedup=group_key&empty=&flag&plus=a+b";
    assert_int_equal(http_query(&rq, "service", buf, sizeof buf), 0);
    assert_string_equal(buf, "pay ments");
    assert_int_equal(http_query(&rq, "dedup", buf, sizeof buf), 0);
    assert_string_equal(buf, "group_key");
    assert_int_equal(http_query(&rq, "empty", buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(http_query(&rq, "flag", buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(http_query(&rq, "plus", buf, sizeof buf), 0);
    assert_string_equal(buf, "a b");
    assert_int_equal(http_query(&rq, "serv", buf, sizeof buf), -1);
    assert_int_equal(http_query(&rq, "missing", buf, sizeof buf), -1);
    rq.query = "a=%4";
    assert_int_equal(http_query(&rq, "a", buf, sizeof buf), -1); /* cut */
    rq.query = "a=%zz";
    assert_int_equal(http_query(&rq, "a", buf, sizeof buf), -1);
    rq.query = "a=%00";
    assert_int_equal(http_query(&rq, "a", buf, sizeof buf), -1); /* NUL */
    rq.query = "a=0123456789";
    assert_int_equal(http_query(&rq, "a", buf, 5), -1); /* too long */
}

static void test_html_escaping(void **state)
{
    struct strbuf b;
    char *s;

    (void)state;
    assert_int_equal(strbuf_init(&b, 4), 0);
    strbuf_printf(&b, "<p>%d ", 42);
    strbuf_html(&b, "a<b>&\"c\"'d'");
    strbuf_printf(&b, "</p>");
    s = strbuf_take(&b, NULL);
    assert_non_null(s);
    assert_string_equal(s, "<p>42 a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;</p>");
    free(s);
}

static void test_severity_words(void **state)
{
    struct service_view v;

    (void)state;
    memset(&v, 0, sizeof v);
    v.severity_default = 2;
    /* no table: the default one */
    assert_int_equal(service_severity(&v, "critical"), 1);
    assert_int_equal(service_severity(&v, "ERROR"), 2);
    assert_int_equal(service_severity(&v, "warning"), 3);
    assert_int_equal(service_severity(&v, "info"), 4);
    assert_int_equal(service_severity(&v, "page"), 2);
    assert_int_equal(service_severity(&v, NULL), 2);
    /* a table replaces the default one */
    snprintf(v.alias[0].word, sizeof v.alias[0].word, "page");
    v.alias[0].severity = 1;
    snprintf(v.alias[1].word, sizeof v.alias[1].word, "warning");
    v.alias[1].severity = 2;
    v.n_alias = 2;
    v.severity_default = 3;
    assert_int_equal(service_severity(&v, "Page"), 1);
    assert_int_equal(service_severity(&v, "warning"), 2);
    assert_int_equal(service_severity(&v, "critical"), 3);
}

static void test_pbjson(void **state)
{
    Klaxon__Incident inc = KLAXON__INCIDENT__INIT;
    Klaxon__Detail d = KLAXON__DETAIL__INIT;
    Klaxon__Detail *ds[1] = {&d};
    char *comps[2] = {"checkout", "payments"};
    json_t *j;

    (void)state;
    inc.id = 9007199254740993ull; /* above 2^53: still exact */
    inc.service = "checkout";
    inc.severity = 2;
    inc.status = KLAXON__STATUS__ACKNOWLEDGED;
    inc.unanswered = 1;
    d.key = "host";
    d.value = "db1";
    inc.n_details = 1;
    inc.details = ds;
    inc.n_components = 2;
    inc.components = comps;
    j = pbjson_message(&inc.base);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "id")),
                     9007199254740993ll);
    assert_string_equal(json_string_value(json_object_get(j, "service")),
                        "checkout");
    assert_string_equal(json_string_value(json_object_get(j, "status")),
                        "ACKNOWLEDGED");
    assert_true(json_is_true(json_object_get(j, "unanswered")));
    assert_true(json_is_null(json_object_get(j, "timers")));
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(j, "details"), 0), "value")),
        "db1");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(j, "components"), 1)),
        "payments");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratelimit_burst_and_refill),
        cmocka_unit_test(test_ratelimit_wait),
        cmocka_unit_test(test_ratelimit_table_full_forgets_the_idlest),
        cmocka_unit_test(test_query_decoding),
        cmocka_unit_test(test_html_escaping),
        cmocka_unit_test(test_severity_words),
        cmocka_unit_test(test_pbjson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
