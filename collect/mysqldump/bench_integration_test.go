//go:build integration

package mysqldump

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/internal/testenv"
)

type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func vmHWM() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			n, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return n
		}
	}
	return 0
}

// TestDumpMillionRows measures a 1,000,000-row table: rows/s, MiB/s, peak RSS.
func TestDumpMillionRows(t *testing.T) {
	db, _ := testenv.MariaDB(t)
	if _, err := db.Exec(`CREATE TABLE cron_schedule (schedule_id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, job_code varchar(255), status varchar(7), messages text, created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, scheduled_at timestamp NULL, executed_at timestamp NULL, finished_at timestamp NULL)`); err != nil {
		t.Fatal(err)
	}
	// Doubling inserts: 2^20 rows quickly.
	db.Exec(`INSERT INTO cron_schedule (job_code, status, messages, scheduled_at) VALUES ('catalog_product_outdated_price_values_cleanup', 'success', 'Cron Job catalog_product_outdated_price_values_cleanup is successfully finished', NOW())`)
	for i := 0; i < 20; i++ {
		if _, err := db.Exec(`INSERT INTO cron_schedule (job_code, status, messages, scheduled_at) SELECT job_code, status, messages, scheduled_at FROM cron_schedule`); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []Format{SQL, TSV} {
		var w countingDiscard
		start := time.Now()
		rep, err := Dump(context.Background(), db, Plan{Tables: []Table{{Name: "cron_schedule"}}}, f, io.Writer(&w))
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		rows := rep.Tables[0].Rows
		t.Logf("%s: %d rows, %.1f MiB in %s: %.0f rows/s, %.1f MiB/s; peak RSS %d MiB", f, rows, float64(w.n)/(1<<20), took.Round(time.Millisecond),
			float64(rows)/took.Seconds(), float64(w.n)/(1<<20)/took.Seconds(), vmHWM()>>10)
		if rows != 1<<20 {
			t.Fatalf("%d rows", rows)
		}
	}
}
