// Verifies one webhook delivery with the Standard Webhooks reference library.
// stdin: {"secret": "whsec_…", "headers": {"webhook-id": …}, "body": "…"}; stdout: {"ok": …}.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { secret, headers, body } = JSON.parse(input);
try {
  const payload = new Webhook(secret).verify(body, headers);
  console.log(JSON.stringify({ ok: true, type: payload.type }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e) }));
}
