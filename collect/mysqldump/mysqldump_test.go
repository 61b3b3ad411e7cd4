package mysqldump

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/custos-ir/custos/collect/cardscan"
	"github.com/custos-ir/custos/internal/testenv"
)

func TestQuoting(t *testing.T) {
	if got := string(sqlQuote(nil, []byte("a'b\\c\n\x00"))); got != `'a\'b\\c\n\0'` {
		t.Fatal(got)
	}
	if got := tsvEscape("a\tb\\c\nd"); got != `a\tb\\c\nd` {
		t.Fatal(got)
	}
	if m := Mask([]byte("secret")); !strings.HasPrefix(m, "***MASKED len=6 sha256=") || strings.Contains(m, "secret") {
		t.Fatal(m)
	}
	for _, bad := range []string{"a;b", "x`y", "", "a b", "../x"} {
		if ValidIdent(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, c := range []string{"cc_number_enc", "CC_NUMBER_ENC", "Cc_Cid_Enc", "cc_last_4", "payment_cc_number", "echeck_account_enc", "card_number", "CardNumber", "cvv2", "card_cvc", "pan", "token_pan"} {
		if !CardColumn(c) {
			t.Errorf("%s is not a card column", c)
		}
	}
	for _, c := range []string{"method", "last_trans_id", "additional_information", "company", "span", "panel_id"} {
		if CardColumn(c) {
			t.Errorf("%s is a card column", c)
		}
	}
}

// openTestDB creates a fresh database on the test MariaDB.
func openTestDB(t *testing.T) (*sql.DB, string) { return testenv.MariaDB(t) }

func loadFixture(t *testing.T, db *sql.DB, prefix string) {
	b, err := os.ReadFile("testdata/magento.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(strings.ReplaceAll(string(b), "PREFIX_", prefix)); err != nil {
		t.Fatal(err)
	}
}

// TestPlanCannotLiftCardRule asks for every column of the payment tables,
// under their own names, a prefix and upper case.
func TestPlanCannotLiftCardRule(t *testing.T) {
	db, _ := openTestDB(t)
	loadFixture(t, db, "")
	loadFixture(t, db, "MG_")
	var buf bytes.Buffer
	plan := Plan{Tables: []Table{{Name: "sales_order_payment", Mode: "rows"}, {Name: "quote_payment", Mode: "rows", ExcludeColumns: []string{}}, {Name: "MG_sales_order_payment"}}}
	if _, err := Dump(context.Background(), db, plan, SQL, &buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "4111111111111111") || strings.Contains(buf.String(), "cc_number_enc`,") || strings.Contains(buf.String(), "NTU1NTU1") {
		t.Fatal("card data dumped")
	}
	if !strings.Contains(buf.String(), "txn-1") {
		t.Fatal("non-card payment columns missing")
	}
	if _, err := Dump(context.Background(), db, Plan{Prefix: "x; DROP"}, SQL, &buf); err == nil {
		t.Fatal("bad prefix accepted")
	}
}

var cardNames = []string{"cc_number_enc", "cc_cid_enc", "cc_exp_month", "cc_last_4", "cc_owner", "cc_type", "cc_ss_issue", "cc_trans_id",
	"card_number", "cvv", "x_enc", "echeck_account_enc", "payment_cc_number", "pan"}
var plainNames = []string{"entity_id", "parent_id", "method", "last_trans_id", "po_number", "status", "value", "created_at", "comment", "quote_id", "store_id"}
var tableNames = []string{"sales_order_payment", "quote_payment", "sales_flat_order_payment", "sales_flat_quote_payment", "sales_payment_transaction",
	"vault_payment_token", "core_config_data", "custom_checkout", "sales_order", "mystery_table", "payment_log", "xyz"}

func randCase(r *rand.Rand, s string) string {
	switch r.IntN(3) {
	case 0:
		return strings.ToUpper(s)
	case 1:
		b := []byte(s)
		for i := range b {
			if r.IntN(2) == 0 && b[i] >= 'a' && b[i] <= 'z' {
				b[i] -= 32
			}
		}
		return string(b)
	}
	return s
}

// randomSchema is a table with card-like columns among others, under a
// random name; it returns the card columns' names too.
func randomSchema(r *rand.Rand) (table string, cols []Column, card map[string]bool) {
	table = []string{"", "mg_", "M2_", "shop1_"}[r.IntN(4)] + randCase(r, tableNames[r.IntN(len(tableNames))])
	card = map[string]bool{}
	seen := map[string]bool{}
	for n := r.IntN(8) + 1; n > 0; n-- {
		var c string
		if r.IntN(2) == 0 {
			c = randCase(r, cardNames[r.IntN(len(cardNames))])
			if seen[strings.ToLower(c)] {
				continue
			}
			card[c] = true
		} else {
			c = plainNames[r.IntN(len(plainNames))]
			if seen[strings.ToLower(c)] {
				continue
			}
		}
		seen[strings.ToLower(c)] = true
		cols = append(cols, Column{Name: c, Type: []string{"varchar", "text", "blob", "int"}[r.IntN(4)]})
	}
	return table, cols, card
}

// randomTable is whatever a profile might ask of a table, lifting rules
// included.
func randomTable(r *rand.Rand, name string) Table {
	t := Table{Name: name, Mode: []string{"", "rows", "scan", "count", "schema"}[r.IntN(5)], Needles: []string{"4", "<script"}}
	if r.IntN(2) == 0 {
		t.ExcludeColumns = []string{"nothing_*"}
	}
	if r.IntN(2) == 0 {
		t.MaskColumns = []string{"status"}
	}
	return t
}

// Property: for random schemas with card-like columns in random tables
// and names, and whatever the plan asks, no card column is selected and a
// token table's rows are never read.
func TestCardRuleProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 16))
	for i := 0; i < 20000; i++ {
		table, cols, card := randomSchema(r)
		tab := randomTable(r, table)
		mode, _ := enforceMode(table, tab.Mode)
		if tokenTable(table) && (mode == "rows" || mode == "scan") {
			t.Fatalf("%s: mode %s", table, mode)
		}
		for _, c := range choose(table, cols, tab).keep {
			if card[c.Name] {
				t.Fatalf("table %s plan %+v: card column %s selected", table, tab, c.Name)
			}
		}
	}
}

// The same on a server: random schemas holding valid card numbers in their
// card columns, dumped under random plans in both formats; no card number
// is anywhere in any dump (checked with the Luhn scan).
func TestCardRuleOnServer(t *testing.T) {
	db, _ := openTestDB(t)
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 25; i++ {
		name, cols, card := randomSchema(r)
		name = fmt.Sprintf("%s_%d", name, i)
		var defs, names []string
		var vals []any
		for _, c := range cols {
			defs = append(defs, quoteIdent(c.Name)+" "+map[string]string{"varchar": "varchar(64)", "text": "text", "blob": "blob", "int": "bigint"}[c.Type])
			names = append(names, quoteIdent(c.Name))
			switch {
			case card[c.Name] && c.Type == "int":
				vals = append(vals, int64(4111111111111111))
			case card[c.Name]:
				vals = append(vals, "4111 1111 1111 1111")
			case c.Type == "int":
				vals = append(vals, 7)
			default:
				vals = append(vals, "plain <script> value")
			}
		}
		if _, err := db.Exec("CREATE TABLE " + quoteIdent(name) + " (" + strings.Join(defs, ", ") + ")"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("INSERT INTO "+quoteIdent(name)+" ("+strings.Join(names, ", ")+") VALUES (?"+strings.Repeat(", ?", len(vals)-1)+")", vals...); err != nil {
			t.Fatal(err)
		}
		for _, f := range []Format{SQL, TSV} {
			var buf bytes.Buffer
			if _, err := Dump(context.Background(), db, Plan{Tables: []Table{randomTable(r, name)}}, f, &buf); err != nil {
				t.Fatal(err)
			}
			var sc cardscan.Scanner
			sc.Write(buf.Bytes())
			sc.Close()
			if sc.Count() > 0 || strings.Contains(buf.String(), "4111111111111111") {
				t.Fatalf("%s (%v): card data in the dump:\n%s", name, cols, buf.String())
			}
		}
	}
}

// An SQL dump loads back byte for byte into a session whose sql_mode would
// misread it (NO_BACKSLASH_ESCAPES, ANSI_QUOTES, strict), binary values
// and awkward text included.
func TestImportUnderAnySQLMode(t *testing.T) {
	src, _ := openTestDB(t)
	dst, _ := openTestDB(t)
	if _, err := src.Exec("CREATE TABLE awkward (id int PRIMARY KEY, t text, b varbinary(16), ts timestamp NULL); " +
		"INSERT INTO awkward VALUES (1, 'it''s a \\\\ back\\nslash \"q\" \\0 nul', 0x00FF27225C0A, '2026-11-21 12:00:00'), (2, NULL, '', NULL)"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Dump(context.Background(), src, Plan{Tables: []Table{{Name: "awkward"}}, Extras: true}, SQL, &buf); err != nil {
		t.Fatal(err)
	}
	conn, err := dst.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES,STRICT_ALL_TABLES,PIPES_AS_CONCAT'"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), buf.String()); err != nil {
		t.Fatalf("import: %v\n%s", err, buf.String())
	}
	sum := func(db *sql.DB) string {
		var s string
		db.QueryRow("SELECT GROUP_CONCAT(CONCAT_WS('|', id, HEX(t), HEX(b), UNIX_TIMESTAMP(ts)) ORDER BY id) FROM awkward").Scan(&s)
		return s
	}
	if a, b := sum(src), sum(dst); a != b || a == "" {
		t.Fatalf("imported rows differ:\n%s\n%s", a, b)
	}
	var n int
	dst.QueryRow("SELECT COUNT(*) FROM custos_inventory").Scan(&n)
	if n == 0 {
		t.Error("the extras sections did not import")
	}
}

// A payload scan dumps only the rows holding a payload; of them, the
// matching text, keys and times, everything else masked.
func TestScanDumpsOnlyPayloadRows(t *testing.T) {
	db, _ := openTestDB(t)
	if _, err := db.Exec("CREATE TABLE sales_order_address (entity_id int PRIMARY KEY, parent_id int, firstname varchar(255), street varchar(255), email varchar(255), telephone varchar(255), updated_at timestamp NULL); " +
		"INSERT INTO sales_order_address VALUES (1, 10, 'Jane', '1 Main St', 'jane@mail.example', '555-0100', NULL), " +
		"(2, 11, '{{var this.getTemplateFilter().filter(order)}}', '2 Evil Rd', 'attacker@evil.example', '555-0199', '2026-11-20 03:00:00'), " +
		"(3, 12, 'Kim', '<SCRIPT src=//evil.example/x.js>', 'kim@mail.example', '555-0123', NULL)"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep, err := Dump(context.Background(), db, Plan{Tables: []Table{{Name: "sales_order_address", Mode: "scan", Needles: []string{"<script", "{{", "getTemplateFilter"}}}}, SQL, &buf)
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if rep.Tables[0].Rows != 2 {
		t.Fatalf("%d rows dumped, want 2:\n%s", rep.Tables[0].Rows, out)
	}
	for _, want := range []string{"getTemplateFilter", "<SCRIPT src=//evil.example/x.js>", "2026-11-20 03:00:00", "VALUES ('2', '11',"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing:\n%s", want, out)
		}
	}
	for _, never := range []string{"Jane", "jane@", "attacker@evil", "555-01", "2 Evil Rd", "kim@"} {
		if strings.Contains(out, never) {
			t.Errorf("%q in the dump", never)
		}
	}
}

// The server's state: who may log in (no hash), what runs, every table.
func TestExtras(t *testing.T) {
	db, name := openTestDB(t)
	loadFixture(t, db, "")
	var buf bytes.Buffer
	rep, err := Dump(context.Background(), db, Plan{Extras: true}, TSV, &buf)
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"#table\tcustos_users", "root", "#table\tcustos_processlist", "#table\tcustos_inventory", "core_config_data", "#table\tcustos_user_privileges", "#table\tcustos_server", name} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing", want)
		}
	}
	if strings.Contains(strings.ToLower(out), "authentication_string") {
		t.Error("mysql.user's hash column is in the dump")
	}
	t.Logf("problems: %v", rep.Problems)
}
