"""What every route shares: guards, CSRF, security headers, rate limits, rendering."""
