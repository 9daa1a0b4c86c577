// SessionTable: the text of the session table and its rows, parsed and rendered (a pure codec).
#include <functional>
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/SessionTable.hpp"
#include "verif8/StateDir.hpp"
#include "verif8/TextUtil.hpp"

using namespace verif8;

namespace {

const std::string kBoot = "3f1c2a9e-7b4d-4e21-9a0c-5d6e7f8a9b0c";
const std::string kHexId = "a44a91be5ea5ea118169020897df5459";
const std::string kClaimRow =
    "phone 1a2b3c4d5e6f7081 - sms 0 0 0 0 0 - 4242 123456 00000000000000a1 98765\n";
const std::string kSessionRow = "phone 0f1e2d3c4b5a6978 " + kHexId +
                                " viber 2 5000 305000 1 4102444800 9c1d2e3f4a5b6c7d:52 0 0 "
                                "0000000000000000 0\n";

// A body with the end line renderTable writes: its FNV-1a hash, as stateFileName gives it.
std::string signed_(const std::string& body) {
    return body + "end " + stateFileName(body) + "\n";
}

std::string header(const std::string& generation) {
    return "verif8-pending 2 " + generation + " " + kBoot + "\n";
}

// A whole table of two rows, the second with a session: what the spoilers below start from.
const std::string kBody = header("7") + kClaimRow + kSessionRow;

SessionRow claimRow() {
    return SessionRow{"1a2b3c4d5e6f7081", std::nullopt, Holder{4242, 123456, 0xa1}, 98765};
}

// Every field set; the API's expiry is 2100-01-01.
const PendingSession kSession{kHexId,     Channel::Viber,       2, 5000, 305000, 1,
                              4102444800, "9c1d2e3f4a5b6c7d:52"};

void expectSameRow(const SessionRow& got, const SessionRow& want) {
    expect_str(renderRow(got), renderRow(want));  // every field of the format
    assert_int_equal(got.session.has_value(), want.session.has_value());
    assert_int_equal(got.holder.has_value(), want.holder.has_value());
}

// Replaces field `index` of every "phone" line.
std::string withField(const std::string& body, std::size_t index, const std::string& to) {
    std::string out;
    forEachLine(body, [&](std::string_view view) {
        std::string line(view);
        if (line.rfind("phone ", 0) == 0) {
            std::size_t start = 0;
            for (std::size_t i = 0; i < index; ++i)
                start = line.find(' ', start) + 1;
            line.replace(start, line.find(' ', start) - start, to);
        }
        out += line + "\n";
    });
    return out;
}

}  // namespace

// Copies written by earlier builds must still read: this text is the format. Rows round-trip
// with every channel, with and without a holder, and with the largest numbers.
static void tables_and_rows_render_as_they_always_have_and_round_trip(void**) {
    const std::string text =
        "verif8-pending 2 7 " + kBoot + "\n" + kClaimRow + "end 4fe086582e854e75\n";
    expect_str(renderTable(SessionTable{kBoot, {claimRow()}}, 7), text);
    const auto parsed = parseTable(text);
    assert_true(parsed.has_value());
    assert_int_equal(parsed->generation, 7);
    expect_str(parsed->table.boot, kBoot);
    assert_int_equal(parsed->table.rows.size(), 1);
    expectSameRow(parsed->table.rows[0], claimRow());
    SessionRow row = claimRow();
    row.untilMs = 9223372036854775807;
    for (Channel channel : {Channel::Sms, Channel::Voice, Channel::Whatsapp, Channel::Viber}) {
        // The API's expiry is 9999-12-31.
        row.session = PendingSession{
            kHexId, channel, 3, 5000, 9000000000000000000, 4, 253402300799, kSession.loginStamp};
        for (bool held : {true, false}) {
            row.holder = Holder{999999999, 9999999999999999999ull, 0xffffffffffffffffull};
            if (!held)
                row.holder.reset();
            std::string line = renderRow(row);
            line.pop_back();  // its newline
            const auto parsed = parseRow(line);
            assert_true(parsed.has_value());
            expectSameRow(*parsed, row);
            assert_true(parsed->session->channel == channel);
        }
    }
    // Without a session, its fields are "-" and 0, and read back as no session.
    expect_str(renderRow(SessionRow{"1a2b3c4d5e6f7081", std::nullopt, std::nullopt, 5}),
               "phone 1a2b3c4d5e6f7081 - sms 0 0 0 0 0 - 0 0 0000000000000000 0\n");
}

// Whole tables parse with their generation and rows; a text that is not one does not parse.
static void tables_parse_only_when_whole(void**) {
    const std::string whole = signed_(kBody);
    std::string unsignedChange = whole;
    unsignedChange[unsignedChange.find(" viber ") - 1] = 'f';
    struct Case {
        const char* what;
        std::string text;
        std::optional<std::uint64_t> generation = std::nullopt;  // none: does not parse
        std::size_t rows = 0;
    };
    const std::vector<Case> cases{
        {"never written", "", 0, 0},
        {"two rows", whole, 7, 2},
        {"no rows", signed_(header("1")), 1, 0},
        // a number parser sized for config values once broke these
        {"10^9 - 1", signed_(header("999999999") + kClaimRow), 999999999, 1},
        {"10^9", signed_(header("1000000000") + kClaimRow), 1000000000, 1},
        {"2^32", signed_(header("4294967296") + kClaimRow), 4294967296ull, 1},
        {"19 digits", signed_(header("9999999999999999990")), 9999999999999999990ull, 0},
        {"rows ending CRLF",
         signed_(header("3") + kClaimRow.substr(0, kClaimRow.size() - 1) + "\r\n" + kSessionRow), 3,
         2},
        // a write killed after its padding, before the file was cut to length
        {"padding after the end line", whole + std::string(300, '\n'), 7, 2},
        // an older release's table holds nothing this one can use
        {"older release", signed_("verif8-pending 1 7\nclaim 0000000000000001 x:1 1800000000\n"), 0,
         0},
        {"garbage", "garbage\n"},
        {"binary", std::string("\x01\x02\x03", 3)},
        {"long garbage", std::string(5000, 'x')},
        {"last byte cut", whole.substr(0, whole.size() - 1)},
        {"cut in half", whole.substr(0, whole.size() / 2)},
        {"end line cut", whole.substr(0, whole.rfind("end "))},
        {"older release cut", "verif8-pending 1 7\nclaim 0000000000000001 x:1 18"},
        {"changed, not signed again", unsignedChange},
        {"a line after the end line", whole + "phone x\n"},
        {"a short row", signed_(kBody + "phone x\n")},
        {"an unknown line", signed_(kBody + "unknown line\n")},
        {"an empty line", signed_(kBody + "\n")},
        {"three fields", signed_(kBody + "phone 1 2 3\n")},
        {"sends not a number", signed_(withField(kBody, 4, "two"))},
        {"an unknown channel", signed_(withField(kBody, 3, "pigeon"))},
        {"a nonce not hex", signed_(withField(kBody, 12, "xyz"))},
        {"a time past 64 bits", signed_(withField(kBody, 5, "99999999999999999999"))},
        {"a session id too long", signed_(withField(kBody, 2, std::string(300, 'a')))},
        {"a stamp too short", signed_(withField(kBody, 1, "1a2b"))},
        {"a generation not a number", signed_(header("x") + kClaimRow)},
        {"a generation of 20 digits", signed_(header("18446744073709551615") + kClaimRow)},
        {"a header without boot", signed_("verif8-pending 2 7\n" + kClaimRow)},
        {"a header with an empty boot", signed_("verif8-pending 2 7  \n" + kClaimRow)},
    };
    for (const Case& c : cases) {
        const auto parsed = parseTable(c.text);
        const bool as = c.generation ? parsed && parsed->generation == *c.generation &&
                                           parsed->table.rows.size() == c.rows
                                     : !parsed;
        if (!as)
            fail_msg("%s: %s", c.what,
                     c.generation ? "not read with its generation and rows" : "parsed");
    }
}

static void only_plain_fields_are_storable(void**) {
    for (const std::string& id : {kHexId, std::string(256, 'a'), std::string("x")})
        assert_true(storable(id));
    for (const std::string& id :
         {std::string("a b"), std::string("a\nphone x"), std::string("\x01"), std::string(),
          std::string("-"), std::string(257, 'a'), std::string("caf\xc3\xa9"), std::string("\x7f")})
        assert_false(storable(id));
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tables_and_rows_render_as_they_always_have_and_round_trip),
        cmocka_unit_test(tables_parse_only_when_whole),
        cmocka_unit_test(only_plain_fields_are_storable),
    };
    return cmocka_run_group_tests_name("session_table", tests, nullptr, nullptr);
}
