// X25519 (RFC 7748) from the vendored @noble/curves, for browsers whose WebCrypto lacks it.
// Built as @noble/curves' own montgomery() documentation builds it (its ed25519.js does the
// same with a faster inversion chain), so only the Montgomery ladder is vendored, not the
// whole Edwards module. The ladder refuses a low-order peer key (an all-zero result).
import { montgomery } from "./vendor/noble-curves/abstract/montgomery.js";
import { pow } from "./vendor/noble-curves/abstract/modular.js";

const P = BigInt(2) ** BigInt(255) - BigInt(19);

export const x25519 = montgomery({
  P,
  type: "x25519",
  // RFC 7748 §5: clear the three low bits and the top bit, set the second-highest bit.
  adjustScalarBytes(bytes) {
    bytes[0] &= 248;
    bytes[31] &= 127;
    bytes[31] |= 64;
    return bytes;
  },
  powPminus2: (x) => pow(x, P - BigInt(2), P),
});
