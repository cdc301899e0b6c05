/*
 * Unit tests of membership request checks: the node's (server/
 * member_check.c, against a Raft configuration), the client library's
 * (client/check.c, before anything is sent) and cluster.join in the node
 * configuration (server/config.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "klaxon.pb-c.h"
#include "member_check.h"

#define OK KLAXON__CODE__OK
#define EINVALID KLAXON__CODE__INVALID_ARGUMENT
#define ESTATE KLAXON__CODE__FAILED_PRECONDITION
#define ENOTFOUND KLAXON__CODE__NOT_FOUND

/* Voters 1..3 at 127.0.0.1:700N, standby 4, spare 5. */
static int setup(void **state)
{
    static struct raft_configuration conf;
    char addr[32];

    raft_configuration_init(&conf);
    for (unsigned i = 1; i <= 5; i++) {
        snprintf(addr, sizeof addr, "127.0.0.1:700%u", i);
        assert_int_equal(raft_configuration_add(&conf, i, addr,
                                                i <= 3   ? RAFT_VOTER
                                                : i == 4 ? RAFT_STANDBY
                                                         : RAFT_SPARE),
                         0);
    }
    *state = &conf;
    return 0;
}

static int teardown(void **state)
{
    raft_configuration_close(*state);
    return 0;
}

static void test_roles(void **state)
{
    int role = -1;

    (void)state;
    assert_int_equal(member_role_parse("voter", RAFT_SPARE, &role), 0);
    assert_int_equal(role, RAFT_VOTER);
    assert_int_equal(member_role_parse("", RAFT_STANDBY, &role), 0);
    assert_int_equal(role, RAFT_STANDBY);
    assert_int_equal(member_role_parse(NULL, RAFT_SPARE, &role), 0);
    assert_int_equal(role, RAFT_SPARE);
    assert_int_equal(member_role_parse("Voter", RAFT_SPARE, &role), -1);
    assert_string_equal(member_role_name(RAFT_SPARE), "spare");
    assert_string_equal(member_role_name(42), "?");
}

static void test_add(void **state)
{
    const struct raft_configuration *conf = *state;
    char msg[256];
    bool exists;
    int role;

    assert_int_equal(
        member_check_add(conf, 6, "127.0.0.1:7006", "127.0.0.1:7106", "", &role,
                         &exists, msg, sizeof msg),
        OK);
    assert_int_equal(role, RAFT_STANDBY);
    assert_false(exists);
    /* the same add again: done before */
    assert_int_equal(member_check_add(conf, 4, "127.0.0.1:7004", "", "standby",
                                      &role, &exists, msg, sizeof msg),
                     OK);
    assert_true(exists);
    /* bad input */
    assert_int_equal(member_check_add(conf, 0, "127.0.0.1:7006", "", "", &role,
                                      &exists, msg, sizeof msg),
                     EINVALID);
    assert_string_equal(msg, "id: must be 1..9007199254740992, got 0");
    assert_int_equal(member_check_add(conf, 6, "127.0.0.1", "", "", &role,
                                      &exists, msg, sizeof msg),
                     EINVALID);
    assert_non_null(
        strstr(msg, "raft_address: \"127.0.0.1\" is not host:port"));
    assert_int_equal(member_check_add(conf, 6, "127.0.0.1:7006", "x:0", "",
                                      &role, &exists, msg, sizeof msg),
                     EINVALID);
    assert_non_null(strstr(msg, "api_address"));
    assert_int_equal(member_check_add(conf, 6, "127.0.0.1:7006", "", "leader",
                                      &role, &exists, msg, sizeof msg),
                     EINVALID);
    assert_string_equal(
        msg, "role: must be voter, standby or spare, got \"leader\"");
    /* duplicates */
    assert_int_equal(member_check_add(conf, 2, "127.0.0.1:7009", "", "", &role,
                                      &exists, msg, sizeof msg),
                     ESTATE);
    assert_string_equal(msg,
                        "id: node 2 is already a member (voter at "
                        "127.0.0.1:7002)");
    assert_int_equal(member_check_add(conf, 4, "127.0.0.1:7004", "", "voter",
                                      &role, &exists, msg, sizeof msg),
                     ESTATE);
    assert_int_equal(member_check_add(conf, 6, "127.0.0.1:7003", "", "", &role,
                                      &exists, msg, sizeof msg),
                     ESTATE);
    assert_string_equal(
        msg, "raft_address: 127.0.0.1:7003 is already the address of node 3");
}

static void test_add_full(void **state)
{
    struct raft_configuration conf;
    char msg[256], addr[32];
    bool exists;
    int role;

    (void)state;
    raft_configuration_init(&conf);
    for (unsigned i = 1; i <= MEMBERS_MAX; i++) {
        snprintf(addr, sizeof addr, "10.0.0.%u:7001", i);
        assert_int_equal(raft_configuration_add(&conf, i, addr, RAFT_VOTER), 0);
    }
    assert_int_equal(member_check_add(&conf, 99, "10.0.0.99:7001", "", "",
                                      &role, &exists, msg, sizeof msg),
                     ESTATE);
    assert_non_null(strstr(msg, "the most it can have"));
    raft_configuration_close(&conf);
}

static void test_remove(void **state)
{
    const struct raft_configuration *conf = *state;
    struct raft_configuration one;
    char msg[256];

    assert_int_equal(member_check_remove(conf, 2, msg, sizeof msg), OK);
    assert_int_equal(member_check_remove(conf, 5, msg, sizeof msg), OK);
    assert_int_equal(member_check_remove(conf, 9, msg, sizeof msg), ENOTFOUND);
    assert_string_equal(msg, "id: node 9 is not a member of the cluster");
    assert_int_equal(member_check_remove(conf, 0, msg, sizeof msg), EINVALID);

    /* the last voter stays, even with a standby beside it */
    raft_configuration_init(&one);
    assert_int_equal(raft_configuration_add(&one, 1, "a:1", RAFT_VOTER), 0);
    assert_int_equal(raft_configuration_add(&one, 2, "b:1", RAFT_STANDBY), 0);
    assert_int_equal(member_check_remove(&one, 1, msg, sizeof msg), ESTATE);
    assert_non_null(strstr(msg, "last voter"));
    assert_int_equal(member_check_remove(&one, 2, msg, sizeof msg), OK);
    raft_configuration_close(&one);
}

static void test_assign(void **state)
{
    const struct raft_configuration *conf = *state;
    char msg[256];
    bool same;
    int role;

    assert_int_equal(
        member_check_assign(conf, 4, NULL, &role, &same, msg, sizeof msg), OK);
    assert_int_equal(role, RAFT_VOTER);
    assert_false(same);
    assert_int_equal(
        member_check_assign(conf, 2, "voter", &role, &same, msg, sizeof msg),
        OK);
    assert_true(same);
    assert_int_equal(
        member_check_assign(conf, 5, "standby", &role, &same, msg, sizeof msg),
        OK);
    assert_int_equal(role, RAFT_STANDBY);
    assert_int_equal(
        member_check_assign(conf, 8, NULL, &role, &same, msg, sizeof msg),
        ENOTFOUND);
    assert_int_equal(
        member_check_assign(conf, 4, "king", &role, &same, msg, sizeof msg),
        EINVALID);
}

static void test_transfer(void **state)
{
    const struct raft_configuration *conf = *state;
    struct raft_configuration one;
    char msg[256];
    bool same;

    assert_int_equal(member_check_transfer(conf, 1, 0, &same, msg, sizeof msg),
                     OK);
    assert_int_equal(member_check_transfer(conf, 1, 3, &same, msg, sizeof msg),
                     OK);
    assert_false(same);
    assert_int_equal(member_check_transfer(conf, 1, 1, &same, msg, sizeof msg),
                     OK);
    assert_true(same);
    assert_int_equal(member_check_transfer(conf, 1, 4, &same, msg, sizeof msg),
                     ESTATE);
    assert_string_equal(msg, "id: node 4 is a standby; only a voter can lead");
    assert_int_equal(member_check_transfer(conf, 1, 7, &same, msg, sizeof msg),
                     ENOTFOUND);

    raft_configuration_init(&one);
    assert_int_equal(raft_configuration_add(&one, 1, "a:1", RAFT_VOTER), 0);
    assert_int_equal(member_check_transfer(&one, 1, 0, &same, msg, sizeof msg),
                     ESTATE);
    raft_configuration_close(&one);
}

static void test_client_checks(void **state)
{
    struct klaxon_member_add m = {0};
    char msg[256];

    (void)state;
    m.id = 4;
    m.raft_address = "10.0.0.4:7001";
    assert_int_equal(check_member_add(&m, msg, sizeof msg), KLAXON_OK);
    m.api_address = "10.0.0.4:7101";
    m.role = "spare";
    assert_int_equal(check_member_add(&m, msg, sizeof msg), KLAXON_OK);
    m.role = "learner";
    assert_int_equal(check_member_add(&m, msg, sizeof msg), KLAXON_EINVAL);
    assert_string_equal(
        msg, "role: must be voter, standby or spare, got \"learner\"");
    m.role = NULL;
    m.api_address = "10.0.0.4";
    assert_int_equal(check_member_add(&m, msg, sizeof msg), KLAXON_EINVAL);
    assert_non_null(strstr(msg, "api_address: "));
    m.api_address = NULL;
    m.raft_address = "10.0.0.4:99999";
    assert_int_equal(check_member_add(&m, msg, sizeof msg), KLAXON_EINVAL);
    assert_non_null(strstr(msg, "raft_address: "));
    m.raft_address = NULL;
    assert_int_equal(check_member_add(&m, msg, sizeof msg), KLAXON_EINVAL);
    m.raft_address = "10.0.0.4:7001";
    m.id = 0;
    assert_int_equal(check_member_add(&m, msg, sizeof msg), KLAXON_EINVAL);
    assert_string_equal(msg, "id: must be 1..9007199254740992, got 0");
    assert_int_equal(check_member_add(NULL, msg, sizeof msg), KLAXON_EINVAL);
    assert_int_equal(check_member_id("id", (uint64_t)1 << 54, msg, sizeof msg),
                     KLAXON_EINVAL);
}

static const char join_yaml[] =
    "node:\n"
    "  id: 4\n"
    "  data_dir: /var/lib/klaxon\n"
    "  raft_address: 127.0.0.1:7004\n"
    "  api_address: 127.0.0.1:7104\n"
    "tls:\n"
    "  ca: /etc/klaxon/ca.pem\n"
    "  cert: /etc/klaxon/node4.pem\n"
    "  key: /etc/klaxon/node4-key.pem\n"
    "cluster:\n"
    "%s"
    "  members:\n"
    "    - { id: 1, raft_address: 127.0.0.1:7001, "
    "api_address: 127.0.0.1:7101 }\n";

static int load_join(const char *join_line, struct config *c, char *err)
{
    char text[2048];

    snprintf(text, sizeof text, join_yaml, join_line);
    return config_load_string("t.yaml", text, "/", c, err, 512);
}

static void test_config_join(void **state)
{
    struct config c;
    char err[512];

    (void)state;
    /* not a member and no join: refused, with the way out */
    assert_int_equal(load_join("", &c, err), -1);
    assert_non_null(strstr(err, "needs cluster.join: true"));
    config_free(&c);
    assert_int_equal(load_join("  join: true\n", &c, err), 0);
    assert_int_equal(c.join, 1);
    config_free(&c);
    assert_int_equal(load_join("  join: false\n", &c, err), -1);
    config_free(&c);
    assert_int_equal(load_join("  join: maybe\n", &c, err), -1);
    assert_non_null(strstr(err, "cluster.join"));
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles),
        cmocka_unit_test_setup_teardown(test_add, setup, teardown),
        cmocka_unit_test(test_add_full),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transfer, setup, teardown),
        cmocka_unit_test(test_client_checks),
        cmocka_unit_test(test_config_join),
    };
    return cmocka_run_group_tests_name("member_check", tests, NULL, NULL);
}
