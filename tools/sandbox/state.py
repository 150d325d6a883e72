"""state.py: the state both listeners share: meter events, invoices, items, request log.
Licence: MIT (see LICENSE).
"""

import json
import os
import threading
import time

from .common import MAX_LOG


class State:
    """Everything both listeners see. Callers hold self.lock around every request, so requests
    are applied one at a time in arrival order and ids are deterministic."""

    def __init__(self, clock=None, zero_paid=False, state_dir=None):
        self.lock = threading.RLock()
        self.clock, self.zero_paid, self.state_dir = clock, zero_paid, state_dir
        self.reset()

    def reset(self):
        self.events, self.unique_ids, self.duplicates, self.ingests = [], set(), 0, 0
        self.invoices, self.items, self.idem, self.requests = {}, {}, {}, []
        self.counters = {}

    def now(self):
        return self.clock if self.clock is not None else int(time.time())

    def next_id(self, prefix, fmt="%s_sbx_%04d"):
        n = self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return fmt % (prefix, n)

    def log(self, service, method, path, status):
        if not path.startswith("/__sandbox/"):
            self.requests.append({"service": service, "method": method, "path": path,
                                  "status": status})
            del self.requests[:-MAX_LOG]

    def render_item(self, it):
        return dict(it)

    def render_line(self, it):
        return {"id": "il_" + it["id"][3:], "object": "line_item", "amount": it["amount"],
                "currency": it["currency"], "description": it["description"],
                "discountable": True, "invoice_item": it["id"], "livemode": False,
                "metadata": dict(it["metadata"]), "period": dict(it["period"]),
                "proration": False, "quantity": it["quantity"], "type": "invoiceitem",
                "unit_amount_excluding_tax": it["unit_amount_decimal"]}

    def render_invoice(self, inv):
        """Invoice record -> Stripe's invoice object, totals computed from its items."""
        items = [self.items[i] for i in inv["items"]]
        total = sum(it["amount"] for it in items)
        due = max(total, 0)
        paid = due if inv["status"] == "paid" else 0
        out = {"id": inv["id"], "object": "invoice", "amount_due": due, "amount_paid": paid,
               "amount_remaining": due - paid}
        for k in ("attempt_count", "attempted", "auto_advance", "collection_method", "created",
                  "currency", "customer", "days_until_due", "description", "due_date"):
            out[k] = inv[k]
        out["lines"] = {"object": "list", "data": [self.render_line(it) for it in items],
                        "has_more": False, "total_count": len(items),
                        "url": "/v1/invoices/%s/lines" % inv["id"]}
        out.update({"livemode": False, "metadata": dict(inv["metadata"]),
                    "number": inv["number"], "paid": inv["status"] == "paid",
                    "period_end": inv["created"], "period_start": inv["created"],
                    "starting_balance": 0, "status": inv["status"],
                    "status_transitions": dict(inv["status_transitions"]),
                    "subtotal": total, "total": total})
        return out

    def snapshot(self):
        return {
            "amberflo": {"ingest_requests": self.ingests, "duplicates": self.duplicates,
                         "events": [dict(e) for e in self.events]},
            "stripe": {"invoices": [self.render_invoice(i) for i in self.invoices.values()],
                       "invoiceitems": [self.render_item(i) for i in self.items.values()],
                       "idempotency_keys": [{"key": k, "method": r["method"], "path": r["path"],
                                             "status": r["status"]}
                                            for k, r in self.idem.items()]},
            "requests": [dict(r) for r in self.requests],
        }

    def dump(self):
        """Write state.json into --state-dir (atomically) when one was given."""
        if not self.state_dir:
            return
        path = os.path.join(self.state_dir, "state.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(self.snapshot(), f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(path + ".tmp", path)
