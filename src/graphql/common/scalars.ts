import { JSONObjectResolver, JSONResolver } from 'graphql-scalars';

/** Any JSON value (trigger inputs, step outputs, JSON Schemas). */
export const JSONScalar = JSONResolver;
/** A JSON object (step configs). */
export const JSONObjectScalar = JSONObjectResolver;
