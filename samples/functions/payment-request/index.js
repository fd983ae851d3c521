'use strict';
// Payment request builder: turns an order and a card token into the request a payment processor
// expects. The caller sends {"card": {"$token": "..."}, "exp": "12/29", "amount": "42.50",
// "currency": "EUR", "orderId": "..."}; Cloister reveals the card number into the sandbox, and
// the manifest's tokenizeOutput rule tokenizes body.source.number (format pan) on the way out,
// so the caller receives the request with a token in place of the number. A forwarding proxy that
// detokenizes on the way to the processor is the only place the number exists outside the sandbox.

const crypto = require('crypto');

const PROCESSOR = 'acme-pay';
const ENDPOINT = 'https://api.acme-pay.example/v1/charges';
// ISO 4217 minor units for the currencies this sample accepts.
const MINOR_UNITS = { EUR: 2, USD: 2, GBP: 2, JPY: 0 };

function minorUnits(amount, currency) {
  const digits = MINOR_UNITS[currency];
  if (digits === undefined) {
    throw new Error(`unsupported currency ${currency}`);
  }
  const text = String(amount);
  if (!/^\d+(\.\d+)?$/.test(text)) {
    throw new Error('amount must be a positive decimal');
  }
  const [whole, fraction = ''] = text.split('.');
  if (fraction.length > digits) {
    throw new Error(`amount has more than ${digits} decimals for ${currency}`);
  }
  return Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}

function expiry(exp) {
  const match = /^(\d{2})\/(\d{2})$/.exec(String(exp));
  if (!match || Number(match[1]) < 1 || Number(match[1]) > 12) {
    throw new Error('exp must be MM/YY');
  }
  return { month: Number(match[1]), year: 2000 + Number(match[2]) };
}

module.exports = async (event, ctx) => {
  const number = event.card;
  if (typeof number !== 'string' || !/^\d{12,19}$/.test(number)) {
    // Never echo the value: a message may end up in logs.
    throw new Error('card must be a 12-19 digit card number');
  }
  const currency = String(event.currency || '').toUpperCase();
  const amount = minorUnits(event.amount, currency);
  const { month, year } = expiry(event.exp);
  const orderId = String(event.orderId || '');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(orderId)) {
    throw new Error('orderId must be 1-64 of A-Z a-z 0-9 _ -');
  }

  // The same order always gets the same key, so a retried request is not charged twice.
  const idempotencyKey = crypto.createHash('sha256').update(`${PROCESSOR}:${orderId}:${amount}:${currency}`).digest('hex').slice(0, 32);
  await ctx.log(`payment-request: order ${orderId}, ${amount} ${currency} minor units`);
  return {
    processor: PROCESSOR,
    method: 'POST',
    url: ENDPOINT,
    idempotencyKey,
    body: {
      amount,
      currency,
      reference: orderId,
      source: { type: 'card', number, exp_month: month, exp_year: year },
    },
  };
};
