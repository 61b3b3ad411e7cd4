package mysqldump

// MagentoPlan is the default plan for a Magento 2 store: where skimmers
// hide (configuration, CMS content, widgets, layout updates, e-mail
// templates), who can get in (admin users and their sessions, roles,
// integrations, OAuth — secrets masked), what ran (cron), and counts only
// of customer and order data unless the responder asks for rows.
func MagentoPlan(prefix string, includeCustomers bool) Plan {
	secret := []string{"password", "password_hash", "rp_token", "secret", "token", "verifier", "session_id", "extra", "key"}
	customerMode := "count"
	if includeCustomers {
		customerMode = "rows"
	}
	t := func(name string, mask ...string) Table { return Table{Name: name, MaskColumns: mask} }
	tables := []Table{
		t("core_config_data"),
		t("cms_block"),
		t("cms_page"),
		t("widget_instance"),
		t("layout_update"),
		t("layout_link"),
		t("email_template"),
		t("admin_user", secret...),
		t("admin_user_session", secret...),
		t("admin_passwords", secret...),
		t("authorization_role"),
		t("authorization_rule"),
		t("integration", secret...),
		t("oauth_consumer", secret...),
		t("oauth_token", secret...),
		t("cron_schedule"),
		t("magento_logging_event"), // Adobe Commerce only: missing elsewhere, recorded
		t("store"),
		t("store_website"),
		t("theme"),
		t("url_rewrite"),
		{Name: "sales_order_payment", Mode: "schema"},
		{Name: "quote_payment", Mode: "schema"},
		{Name: "customer_entity", Mode: customerMode, MaskColumns: secret},
		{Name: "customer_address_entity", Mode: customerMode},
		{Name: "sales_order", Mode: customerMode},
		{Name: "sales_order_address", Mode: customerMode},
		{Name: "quote", Mode: customerMode},
		{Name: "quote_address", Mode: customerMode},
		{Name: "newsletter_subscriber", Mode: customerMode},
	}
	return Plan{Prefix: prefix, Tables: tables, Extras: true}
}
