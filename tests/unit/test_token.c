/*
 * Acknowledgement tokens: round trip, and refusal of every forgery we can
 * think of (changed payload, changed signature, another secret, truncated,
 * malformed, wrong prefix), plus page idempotency keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "token.h"

static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t other[32] = "0123456789abcdef0123456789abcdeF";

static void make(const char *user, char *buf)
{
    struct ack_token t = {42, 1700000000000ull, 7, ""};
    strcpy(t.user, user);
    assert_int_equal(token_make(secret, sizeof secret, &t, buf, TOKEN_MAX), 0);
}

static void test_round_trip(void **state)
{
    char tok[TOKEN_MAX];
    struct ack_token t;
    const char *why = NULL;

    (void)state;
    make("alice", tok);
    assert_memory_equal(tok, "k1.", 3);
    assert_int_equal(token_verify(secret, sizeof secret, tok, &t, &why), 0);
    assert_int_equal(t.incident_id, 42);
    assert_int_equal(t.expires_ms, 1700000000000ull);
    assert_int_equal(t.page_id, 7);
    assert_string_equal(t.user, "alice");
}

static void expect_refused(const char *tok, const char *reason)
{
    struct ack_token t;
    const char *why = NULL;
    assert_int_equal(token_verify(secret, sizeof secret, tok, &t, &why), -1);
    assert_string_equal(why, reason);
}

static void test_tampering_refused(void **state)
{
    char tok[TOKEN_MAX];
    char bad[TOKEN_MAX];
    char *dot;

    (void)state;
    make("alice", tok);
    /* flip one payload character */
    strcpy(bad, tok);
    bad[5] = bad[5] == 'A' ? 'B' : 'A';
    expect_refused(bad, "signature does not match");
    /* flip one signature character */
    strcpy(bad, tok);
    dot = strrchr(bad, '.');
    dot[2] = dot[2] == 'A' ? 'B' : 'A';
    expect_refused(bad, "signature does not match");
    /* a token for another user does not carry over its signature */
    make("mallory", bad);
    dot = strrchr(bad, '.');
    strcpy(dot, strrchr(tok, '.'));
    expect_refused(bad, "signature does not match");
}

static void test_other_secret_refused(void **state)
{
    char tok[TOKEN_MAX];
    struct ack_token t;
    const char *why = NULL;

    (void)state;
    make("alice", tok);
    assert_int_equal(token_verify(other, sizeof other, tok, &t, &why), -1);
    assert_string_equal(why, "signature does not match");
}

static void test_malformed_refused(void **state)
{
    char tok[TOKEN_MAX];
    char bad[TOKEN_MAX];

    (void)state;
    make("alice", tok);
    expect_refused("", "malformed");
    expect_refused("k1.", "malformed");
    expect_refused("k2.AAAA.AAAA", "malformed");
    expect_refused("k1.AAAA", "malformed");
    expect_refused("k1.!!!!.AAAA", "malformed");
    strcpy(bad, tok);
    bad[strlen(bad) - 3] = '\0'; /* truncated signature */
    expect_refused(bad, "malformed");
    strcpy(bad, tok);
    *strrchr(bad, '.') = '\0'; /* no signature */
    expect_refused(bad, "malformed");
}

static void test_user_length_limit(void **state)
{
    char tok[TOKEN_MAX];
    struct ack_token t = {1, 2, 3, ""};
    struct ack_token back;

    (void)state;
    memset(t.user, 'u', 128);
    t.user[128] = '\0';
    assert_int_equal(token_make(secret, sizeof secret, &t, tok, sizeof tok), 0);
    assert_int_equal(token_verify(secret, sizeof secret, tok, &back, NULL), 0);
    assert_string_equal(back.user, t.user);
}

static void test_page_key(void **state)
{
    const uint8_t id[8] = {0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3};
    char buf[80];

    (void)state;
    token_page_key(id, sizeof id, 17, buf, sizeof buf);
    assert_string_equal(buf, "klaxon-deadbeef00010203-17");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_tampering_refused),
        cmocka_unit_test(test_other_secret_refused),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_user_length_limit),
        cmocka_unit_test(test_page_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
