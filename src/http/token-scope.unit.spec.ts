import { describe, expect, it } from 'vitest';
import { scopeAllows } from './token-scope.ts';

const room = '0199e1c4-6000-7000-8000-00000000a001';
const other = '0199e1c4-6000-7000-8000-00000000a002';

describe('scopeAllows (a bot token limited to some rooms)', () => {
  it.each([
    ['POST', `/api/v1/rooms/${room}/messages`],
    ['GET', `/api/v1/rooms/${room}`],
    ['PATCH', `/api/v1/rooms/${room}/messages/m-1`],
    ['PUT', `/api/v1/rooms/${room.toUpperCase()}/notifications`],
    ['POST', `/api/v1/invitations/${room}/accept`],
    ['POST', `/api/v1/invitations/${room}/decline`],
    ['GET', '/api/v1/users/me'],
    ['POST', '/api/v1/uploads/sign'],
  ])('%s %s is inside', (method, path) => {
    expect(scopeAllows([room], method, path)).toBe(true);
  });

  it.each([
    ['POST', `/api/v1/rooms/${other}/messages`],
    ['GET', '/api/v1/rooms'],
    ['GET', '/api/v1/invitations'],
    ['POST', `/api/v1/invitations/${other}/accept`],
    ['POST', '/api/v1/rooms'],
    ['POST', '/api/v1/rooms/direct'],
    ['GET', `/api/v1/rooms/${room}x/messages`],
    ['PATCH', '/api/v1/users/me'],
    ['DELETE', '/api/v1/users/me'],
    ['GET', '/api/v1/users/me/export'],
    ['GET', '/api/v1/sync'],
    ['GET', '/api/v1/search/messages'],
    ['POST', '/api/v1/friends/requests'],
    ['POST', '/api/v1/bots'],
    ['GET', '/api/v1/admin/audit'],
  ])('%s %s is outside', (method, path) => {
    expect(scopeAllows([room], method, path)).toBe(false);
  });
});
