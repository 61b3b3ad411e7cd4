package magento

import "github.com/custos-ir/custos/collect/mysqldump"

// Payloads are what TrojanOrders and CosmicSting leave in customer,
// address and catalog text: template directives that reach
// getTemplateFilter, script tags, and their close kin.
var Payloads = []string{"<script", "{{", "getTemplateFilter", "<iframe", "javascript:", "<?php", "onerror="}

// secret columns of Magento's account and integration tables: masked.
var secret = []string{"password", "password_hash", "rp_token", "secret", "token", "verifier", "session_id", "extra", "key", "api_key", "sessid", "encoded_config"}

// Plan is the dump of a Magento store's database: version 1 or 2 (the
// table names differ), rows of customer and order tables only when the
// responder asks.
func Plan(version int, prefix string, customers bool) mysqldump.Plan {
	if version == 1 {
		return plan1(prefix, customers)
	}
	return plan2(prefix, customers)
}

func rows(name string, mask ...string) mysqldump.Table {
	return mysqldump.Table{Name: name, MaskColumns: mask}
}

func scan(name string) mysqldump.Table {
	return mysqldump.Table{Name: name, Mode: "scan", Needles: Payloads}
}

func people(names []string, customers bool) []mysqldump.Table {
	mode := "count"
	if customers {
		mode = "rows"
	}
	var out []mysqldump.Table
	for _, n := range names {
		out = append(out, mysqldump.Table{Name: n, Mode: mode, MaskColumns: secret})
	}
	return out
}

// plan2 follows Magento 2.4's db_schema.xml.
func plan2(prefix string, customers bool) mysqldump.Plan {
	tables := []mysqldump.Table{
		// where skimmers hide
		rows("core_config_data"), rows("cms_block"), rows("cms_page"), rows("widget_instance"), rows("layout_update"),
		rows("layout_link"), rows("email_template"), rows("newsletter_template"), rows("newsletter_queue"),
		rows("variable"), rows("variable_value"), rows("design_config_grid_flat"),
		// who can get in
		rows("admin_user", secret...), rows("admin_user_session", secret...), rows("admin_passwords", secret...),
		rows("admin_user_expiration"), rows("authorization_role"), rows("authorization_rule"),
		rows("password_reset_request_event"), rows("tfa_user_config", secret...), rows("jwt_auth_revoked"),
		rows("integration", secret...), rows("oauth_consumer", secret...), rows("oauth_token", secret...),
		rows("oauth_token_request_log"), rows("login_as_customer_log"),
		// what ran, what was installed
		rows("cron_schedule"), rows("magento_logging_event"), // Adobe Commerce only: missing elsewhere, recorded
		rows("setup_module"), rows("patch_list"), {Name: "queue_message", Limit: 100000}, rows("import_history"),
		rows("store"), rows("store_website"), rows("store_group"), rows("theme"), rows("url_rewrite"),
		// payments: never card data (the dumper's own rule), schema and counts
		{Name: "sales_order_payment", Mode: "schema"}, {Name: "quote_payment", Mode: "schema"},
		{Name: "sales_payment_transaction", Mode: "count"}, {Name: "vault_payment_token", Mode: "count"},
		// payloads in customer, address and catalog text: matching rows only
		scan("sales_order_address"), scan("quote_address"), scan("customer_address_entity"), scan("customer_entity"),
		scan("sales_order_status_history"), scan("catalog_product_entity_text"), scan("catalog_product_entity_varchar"),
		scan("catalog_category_entity_text"), scan("review_detail"),
	}
	tables = append(tables, people([]string{"customer_entity", "customer_address_entity", "sales_order", "sales_order_address",
		"quote", "quote_address", "newsletter_subscriber"}, customers)...)
	return mysqldump.Plan{Prefix: prefix, Tables: dedupe(tables), Queries: ordersPerDay(prefix, "sales_order", "sales_order_payment"), Extras: true}
}

// plan1 follows Magento 1's (OpenMage's) install scripts.
func plan1(prefix string, customers bool) mysqldump.Plan {
	tables := []mysqldump.Table{
		rows("core_config_data"), rows("cms_block"), rows("cms_page"), rows("widget_instance"), rows("core_layout_update"),
		rows("core_layout_link"), rows("core_email_template"), rows("newsletter_template"), rows("newsletter_queue"),
		rows("core_variable"), rows("core_variable_value"),
		rows("admin_user", secret...), rows("admin_role"), rows("admin_rule"),
		rows("api_user", secret...), rows("api_role"), rows("api_rule"), rows("api_session", secret...),
		rows("oauth_consumer", secret...), rows("oauth_token", secret...),
		rows("cron_schedule"), rows("core_resource"), rows("dataflow_profile"), rows("dataflow_profile_history"),
		rows("core_store"), rows("core_website"), rows("core_store_group"), rows("core_url_rewrite"),
		{Name: "sales_flat_order_payment", Mode: "schema"}, {Name: "sales_flat_quote_payment", Mode: "schema"},
		{Name: "sales_payment_transaction", Mode: "count"},
		scan("sales_flat_order_address"), scan("sales_flat_quote_address"), scan("sales_flat_order_status_history"),
		scan("customer_address_entity_varchar"), scan("customer_address_entity_text"), scan("customer_entity_varchar"),
		scan("catalog_product_entity_text"), scan("catalog_product_entity_varchar"), scan("catalog_category_entity_text"),
		scan("review_detail"),
	}
	tables = append(tables, people([]string{"customer_entity", "customer_address_entity", "sales_flat_order", "sales_flat_order_address",
		"sales_flat_quote", "sales_flat_quote_address", "newsletter_subscriber"}, customers)...)
	return mysqldump.Plan{Prefix: prefix, Tables: dedupe(tables), Queries: ordersPerDay(prefix, "sales_flat_order", "sales_flat_order_payment"), Extras: true}
}

// dedupe keeps each table's first entry, and a scan beside a count of
// the same table (its payload rows and how many there are); a scan of a
// table whose rows are dumped anyway is dropped.
func dedupe(ts []mysqldump.Table) []mysqldump.Table {
	all := map[string]bool{}
	for _, t := range ts {
		if t.Mode == "" || t.Mode == "rows" {
			all[t.Name] = true
		}
	}
	seen := map[string]bool{}
	var out []mysqldump.Table
	for _, t := range ts {
		k := t.Name
		if t.Mode == "scan" {
			if all[t.Name] {
				continue
			}
			k += "|scan"
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, t)
	}
	return out
}

// ordersPerDay counts orders per day and payment method, without a
// personal field: when a payment method appeared, how many orders a
// skimmer saw.
func ordersPerDay(prefix, orders, payments string) []mysqldump.Query {
	o, p := prefix+orders, prefix+payments
	if !mysqldump.ValidIdent(o) || !mysqldump.ValidIdent(p) {
		return nil
	}
	return []mysqldump.Query{{
		Name:   "orders_per_day",
		SQL:    "SELECT DATE(o.`created_at`) AS day, p.`method` AS payment_method, COUNT(*) AS orders, MIN(o.`created_at`) AS first, MAX(o.`created_at`) AS last FROM `" + o + "` o JOIN `" + p + "` p ON p.`parent_id` = o.`entity_id` GROUP BY day, payment_method ORDER BY day, payment_method",
		Tables: []string{o, p},
	}}
}
