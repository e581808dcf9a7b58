/**
 * SMART discovery (`[base]/.well-known/smart-configuration`, App Launch 2.2 §4.1) and the
 * CapabilityStatement's rest.security, both built from the same endpoint set so they agree.
 */
import type { CapabilityStatementRestSecurity } from '@medplum/fhirtypes';
import { ASSERTION_ALGS } from './client-assertion.ts';
import { EXTENSIONS, SYSTEMS } from '../core/systems.ts';

export interface AuthEndpoints {
  issuer: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
  jwksUri: string;
}

/** The OAuth endpoints beside a FHIR base: http://h/x/fhir → http://h/x/oauth/… */
export function authEndpoints(baseUrl: string): AuthEndpoints {
  const issuer = baseUrl.replace(/\/[^/]*$/, '') + '/oauth';
  return { issuer, tokenEndpoint: `${issuer}/token`, introspectionEndpoint: `${issuer}/introspect`, jwksUri: `${issuer}/jwks` };
}

export function smartConfiguration(e: AuthEndpoints, scopesSupported: readonly string[]): Record<string, unknown> {
  return {
    issuer: e.issuer,
    jwks_uri: e.jwksUri,
    token_endpoint: e.tokenEndpoint,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
    grant_types_supported: ['client_credentials'],
    scopes_supported: scopesSupported,
    response_types_supported: ['token'],
    capabilities: ['client-confidential-asymmetric', 'permission-v2', 'permission-v1'],
    introspection_endpoint: e.introspectionEndpoint,
    code_challenge_methods_supported: ['S256'],
  };
}

export function capabilitySecurity(e: AuthEndpoints): CapabilityStatementRestSecurity {
  return {
    cors: true,
    service: [{ coding: [{ system: SYSTEMS.restfulSecurityService, code: 'SMART-on-FHIR' }] }],
    description: `SMART Backend Services (client_credentials with private_key_jwt, RS384 or ES384). Discovery: .well-known/smart-configuration; token endpoint ${e.tokenEndpoint}.`,
    extension: [
      {
        url: EXTENSIONS.smartOAuthUris,
        extension: [
          { url: 'token', valueUri: e.tokenEndpoint },
          { url: 'introspect', valueUri: e.introspectionEndpoint },
        ],
      },
    ],
  };
}
