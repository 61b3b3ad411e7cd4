package mysqldump

import (
	"path"
	"strings"
)

// The card-data rule, applied inside the dumper to every table of every
// plan: a plan (a profile's or Magento's) can add exclusions and masks,
// never lift these. It goes by what names say, not by a list of tables, so
// a table prefix, upper case, Magento 1's sales_flat_* tables or an
// extension's own payment table change nothing.

// cardColumnGlobs are column names that hold card data, matched without
// regard to case: left out of every dump.
var cardColumnGlobs = []string{
	"cc_*",         // Magento 1 and 2: cc_number_enc, cc_cid_enc, cc_exp_*, cc_last_4, cc_owner, cc_type, cc_ss_*, ...
	"*_cc_*",       // payment_cc_number and the like
	"*_enc",        // anything stored encrypted: cc_number_enc, echeck_*_enc, an extension's card_enc
	"*card_num*",   // card_number, cardnumber is below
	"*cardnum*",    //
	"*cvv*",        // cvv, cvv2, card_cvv
	"*cvc*",        // cvc, cvc2
	"pan", "*_pan", // the primary account number by its name
}

// CardColumn reports whether a column's name says it holds card data.
func CardColumn(name string) bool { return matchAny(cardColumnGlobs, name) }

// paymentTable reports whether a table (its full name, prefix and all)
// holds payments or payment transactions: sales_order_payment,
// quote_payment, sales_flat_order_payment, sales_flat_quote_payment,
// sales_payment_transaction, paypal_payment_transaction, an extension's
// *_payment table.
func paymentTable(table string) bool {
	t := strings.ToLower(table)
	return strings.Contains(t, "payment") || strings.Contains(t, "transaction")
}

// paymentFreeForm are payment columns whose free-form content gateways have
// been known to fill with card data: masked (length and digest kept).
var paymentFreeForm = []string{"additional_information", "additional_data", "echeck_*", "*_debug_*", "*debug_request*", "*debug_response*"}

// tokenTable reports a table of stored card tokens (Magento 2's
// vault_payment_token: a gateway token charges the card): never rows.
func tokenTable(table string) bool {
	return strings.HasSuffix(strings.ToLower(table), "vault_payment_token")
}

// Column is a column as information_schema describes it.
type Column struct {
	Name string
	Type string // DATA_TYPE, lower case: varchar, blob, int, ...
	Key  bool   // part of the primary key
}

// binary reports a type whose values are bytes, not text: dumped as hex.
func (c Column) binary() bool {
	switch c.Type {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit", "geometry", "point", "linestring", "polygon",
		"multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return true
	}
	return false
}

// text reports a type a payload scan searches.
func (c Column) text() bool {
	switch c.Type {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "json":
		return true
	}
	return false
}

// selection is what of a table's columns a dump reads and how.
type selection struct {
	keep     []Column
	masked   []bool // per keep
	excluded []string
	maskedBy []string
}

// choose applies a table's plan and the card rule to its columns. It is
// the one place that decides which columns are read: nothing else puts a
// column name into a SELECT.
func choose(table string, cols []Column, t Table) selection {
	var s selection
	pay := paymentTable(table)
	for _, c := range cols {
		switch {
		case !ValidIdent(c.Name), CardColumn(c.Name), matchAny(t.ExcludeColumns, c.Name):
			s.excluded = append(s.excluded, c.Name)
			continue
		}
		m := matchAny(t.MaskColumns, c.Name) || (pay && matchAny(paymentFreeForm, c.Name))
		s.keep = append(s.keep, c)
		s.masked = append(s.masked, m)
		if m {
			s.maskedBy = append(s.maskedBy, c.Name)
		}
	}
	return s
}

// enforceMode is the mode a table is dumped in: a token table's rows
// never, whatever was asked.
func enforceMode(table, mode string) (string, string) {
	if tokenTable(table) && (mode == "rows" || mode == "scan") {
		return "count", "stored card tokens: counted, never dumped"
	}
	return mode, ""
}

func matchAny(globs []string, name string) bool {
	n := strings.ToLower(name)
	for _, g := range globs {
		if ok, _ := path.Match(strings.ToLower(g), n); ok {
			return true
		}
	}
	return false
}

// RuleText is the rule in one line, for the dump's header and the docs.
const RuleText = "card data is never dumped: every column named cc_*, *_cc_*, *_enc, *card_num*, *cardnum*, *cvv*, *cvc*, pan or *_pan (any table, any case) is left out; " +
	"in payment and transaction tables additional_information, additional_data, echeck_* and gateway debug columns are masked; vault_payment_token is counted, never dumped"
