"""Creates a personal API token through Trainyard's pages and prints it (the only line on stdout).

`trainyard` has no CLI command for tokens yet, so scripts/tracking-tests.sh gets one the way a
person does: sign in on /login, submit the form on /settings/tokens, read the secret from the
page the creation redirects to (it is shown there once, in #new-token).

    printf '%s' "$password" | python make_token.py --url http://127.0.0.1:8080 --username NAME
"""

import argparse
import html
import re
import sys

from web import WebClient, form_fields


def main():
    parser = argparse.ArgumentParser(description="Create a Trainyard API token through the web pages.")
    parser.add_argument("--url", required=True, help="the server's base URL")
    parser.add_argument("--username", required=True)
    parser.add_argument("--name", default="mlflow tracking tests", help="the token's name")
    parser.add_argument("--days", default="7", help="lifetime offered on the form: 7, 30, 90, 365 or 0 (never)")
    args = parser.parse_args()
    password = sys.stdin.read()
    if password.endswith("\n"):
        password = password[:-1]

    web = WebClient(args.url).sign_in(args.username, password)
    fields = form_fields(web.get("/settings/tokens").text, "/settings/tokens")
    fields.update(name=args.name, expires_in_days=args.days)
    page = web.post("/settings/tokens", fields)
    match = re.search(r'id="new-token"[^>]*>([^<]+)<', page.text)
    if page.status != 200 or not match:
        sys.exit(f"make_token: no new token on {page.url} (status {page.status})")
    print(html.unescape(match.group(1)).strip())


if __name__ == "__main__":
    main()
