/**
 * Error raised for input that a caller can correct: an unknown SKU, a
 * quantity that is not a positive integer, tenders that do not add up.
 * `code` is stable and `field` names the offending part of the request.
 */
export class ValidationError extends Error {
  override name = "ValidationError";

  constructor(
    readonly code: string,
    message: string,
    readonly field: string | null = null,
    readonly value: unknown = undefined,
  ) {
    super(message);
  }
}

/**
 * Error raised when a sale is refused by a business rule rather than by its
 * shape, such as the per-SKU stock buffer while offline.
 */
export class RuleError extends Error {
  override name = "RuleError";

  constructor(
    readonly code: string,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
  }
}

/**
 * Error raised when a request names something that does not exist, such
 * as an unknown conflict. HTTP APIs return it as 404 with `code`.
 */
export class NotFoundError extends Error {
  override name = "NotFoundError";

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
