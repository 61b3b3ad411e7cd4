package mysqldump

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/custos-ir/custos/internal/testenv"
)

func TestQuoting(t *testing.T) {
	if got := sqlQuote("a'b\\c\n\x00"); got != `'a\'b\\c\n\0'` {
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
	if tt := enforced(Table{Name: "quote_payment"}); !matchAny(tt.ExcludeColumns, "CC_NUMBER_ENC") || !matchAny(tt.MaskColumns, "additional_data") {
		t.Fatal("card rule not enforced")
	}
}

// openTestDB creates a fresh database on the test MariaDB.
func openTestDB(t *testing.T) (*sql.DB, string) {
	t.Helper()
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.Timeout = "root", "tcp", "127.0.0.1:3306", 5*time.Second
	c.MultiStatements = true
	admin, err := sql.Open("mysql", c.FormatDSN())
	if err == nil {
		err = admin.Ping()
	}
	if err != nil {
		testenv.Missing(t, "MariaDB on 127.0.0.1:3306 (root, no password)", "apt-get install mariadb-server; start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd")
	}
	name := fmt.Sprintf("custos_magento_%d", time.Now().UnixNano()%1e9)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + name); admin.Close() })
	c.DBName = name
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, name
}

func loadFixture(t *testing.T, db *sql.DB, prefix string) {
	b, err := os.ReadFile("testdata/magento.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(strings.ReplaceAll(string(b), "PREFIX_", prefix)); err != nil {
		t.Fatal(err)
	}
}

// TestMagentoDump dumps a Magento-shaped database in both formats: the
// skimmers, the rogue admin and the malicious cron job are there; no card
// number (plain, base64 or hex), password hash, token or customer e-mail is.
func TestMagentoDump(t *testing.T) {
	for _, prefix := range []string{"", "mg_"} {
		db, _ := openTestDB(t)
		loadFixture(t, db, prefix)
		for _, f := range []Format{SQL, TSV} {
			var buf bytes.Buffer
			rep, err := Dump(context.Background(), db, MagentoPlan(prefix, false), f, &buf)
			if err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, want := range []string{"SKIMMER-CONFIG", "SKIMMER-CMS", "support_tech", "backup.admin@evil.example", "sys_cache_flush_gate", "evil.example/x.php", "sync@evil.example", "CREATE TABLE", "rows (count only"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s/%s: %q missing", prefix, f, want)
				}
			}
			for _, card := range []string{"4111111111111111", "5555555555554444"} {
				for _, form := range []string{card, base64.StdEncoding.EncodeToString([]byte(card)), hex.EncodeToString([]byte(card)), card[len(card)-4:] + "'"} {
					if strings.Contains(out, form) {
						t.Errorf("%s/%s: card data %q in the dump", prefix, f, form)
					}
				}
			}
			for _, secret := range []string{"a1b2c3d4e5f6", "ffffeeee0000", "customerhash", "tok3nvalue", "secr3tvalue", "jane.buyer@", "kim.buyer@", "021000021"} {
				if strings.Contains(out, secret) {
					t.Errorf("%s/%s: %q in the dump", prefix, f, secret)
				}
			}
			missing := 0
			for _, tr := range rep.Tables {
				if tr.Error != "" {
					missing++
				}
				if tr.Name == prefix+"admin_user" && (tr.Rows != 2 || len(tr.Masked) == 0) {
					t.Errorf("admin_user report %+v", tr)
				}
			}
			if missing == 0 {
				t.Error("tables absent from the fixture were not reported")
			}
		}
	}
}

// TestPlanCannotLiftCardRule asks for every column of the payment tables.
func TestPlanCannotLiftCardRule(t *testing.T) {
	db, _ := openTestDB(t)
	loadFixture(t, db, "")
	var buf bytes.Buffer
	plan := Plan{Tables: []Table{{Name: "sales_order_payment", Mode: "rows"}, {Name: "quote_payment", Mode: "rows"}}}
	if _, err := Dump(context.Background(), db, plan, SQL, &buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "4111111111111111") || strings.Contains(buf.String(), "cc_number_enc`,") {
		t.Fatal("card data dumped")
	}
	if !strings.Contains(buf.String(), "txn-1") {
		t.Fatal("non-card payment columns missing")
	}
	if _, err := Dump(context.Background(), db, Plan{Prefix: "x; DROP"}, SQL, &buf); err == nil {
		t.Fatal("bad prefix accepted")
	}
}
