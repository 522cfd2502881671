import type { Request } from 'express';
import jwt from 'jsonwebtoken';
import { Passport } from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import type { InstanceSecrets } from '../db/instance-secrets';

/** The only algorithm a login JWT may use: `none`, RS256/ES256 and HS/RS confusion are refused before any key is tried. */
export const JWT_ALGORITHMS: jwt.Algorithm[] = ['HS256'];
export const JWT_ISSUER = 'warden';
export const JWT_AUDIENCE = 'warden';
const JWT_TYPE = 'JWT';

export interface LoginClaims {
  /** The user id. */
  sub: string;
  /** The session id; logout revokes the session, and with it the token. */
  sid: string;
}

export class LoginTokenError extends Error {
  constructor(readonly reason: 'expired' | 'invalid') {
    super(reason);
  }
}

/**
 * Login JWTs: signed with HS256 (`JWT_SECRET`, or a random key kept in the database so every
 * instance shares it), checked by passport-jwt with an algorithm allow-list, issuer, audience,
 * lifetime and `typ` header. Passport only proves the token is ours and fresh; the session row
 * decides whether it is still good.
 */
export class LoginTokens {
  private readonly passport = new Passport();

  private readonly secret: () => Promise<Buffer>;

  constructor(
    secrets: InstanceSecrets,
    configuredSecret: string | undefined,
    readonly ttlMinutes: number,
  ) {
    this.secret = configuredSecret ? async () => Buffer.from(configuredSecret) : () => secrets.get('jwt_hs256');
    this.passport.use(
      new JwtStrategy(
        {
          jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
          secretOrKeyProvider: (_req: unknown, _token: unknown, done: (error: unknown, key?: Buffer) => void) => {
            this.secret().then((key) => done(null, key), done);
          },
          algorithms: JWT_ALGORITHMS,
          issuer: JWT_ISSUER,
          audience: JWT_AUDIENCE,
          jsonWebTokenOptions: { maxAge: `${ttlMinutes}m`, clockTolerance: 5 },
        },
        (payload: Record<string, unknown>, done: (error: unknown, claims?: LoginClaims | false) => void) => {
          const { sub, sid } = payload;
          done(null, typeof sub === 'string' && typeof sid === 'string' ? { sub, sid } : false);
        },
      ),
    );
  }

  async sign(claims: LoginClaims, expiresAt: Date): Promise<string> {
    const exp = Math.floor(expiresAt.getTime() / 1000);
    // iat is the session's start, so exp - iat is exactly the configured lifetime.
    return jwt.sign({ sid: claims.sid, exp, iat: exp - this.ttlMinutes * 60 }, await this.secret(), {
      algorithm: 'HS256',
      header: { alg: 'HS256', typ: JWT_TYPE },
      subject: claims.sub,
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      jwtid: claims.sid,
    });
  }

  /** Verifies the bearer JWT of the request through passport-jwt. */
  verify(req: Request, token: string): Promise<LoginClaims> {
    if (!hasLoginHeader(token)) return Promise.reject(new LoginTokenError('invalid'));
    return new Promise((resolve, reject) => {
      this.passport.authenticate('jwt', { session: false }, (error: unknown, claims: LoginClaims | false, info: unknown) => {
        if (error || !claims) {
          reject(new LoginTokenError(info instanceof jwt.TokenExpiredError ? 'expired' : 'invalid'));
          return;
        }
        resolve(claims);
      })(req, req.res, (error: unknown) => reject(error ?? new LoginTokenError('invalid')));
    });
  }
}

/** The header must say `typ: JWT` and an allowed `alg`; anything else is refused before verification. */
function hasLoginHeader(token: string): boolean {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    return header.typ === JWT_TYPE && JWT_ALGORITHMS.includes(header.alg as jwt.Algorithm);
  } catch {
    return false;
  }
}
