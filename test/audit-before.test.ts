import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { noteBefore } from '../src/audit/audited-change';
import type { AnyHandler, RuntimeContext } from '../src/binding/handler-types';
import { startTestApp, type TestApp } from './support/test-app';
import { openTestDatabase, type TestDatabase } from './support/test-database';

const fixture = join(__dirname, 'fixtures/audit-before-fixture.yaml');

/** A gadget handler: `gdg_noted` notes the colour it overwrites, any other id forgets to. */
const changing = (status: number, body?: object): AnyHandler =>
  ((context: RuntimeContext<unknown>) => {
    const id = String(context.params.id);
    if (id === 'gdg_noted') noteBefore({ colour: 'red' });
    return body ? { status, body: { id, ...body } } : { status };
  }) as AnyHandler;

const handlers: Record<string, AnyHandler> = {
  createGadget: (() => ({ status: 201, body: { id: 'gdg_new', colour: 'green' } })) as AnyHandler,
  replaceGadget: changing(200, { colour: 'blue' }),
  tintGadget: changing(200, { colour: 'teal' }),
  deleteGadget: changing(204),
};

describe('the gate: an audited overwrite must say what it overwrote (noteBefore)', () => {
  let database: TestDatabase;
  let validating: TestApp;
  let production: TestApp;
  const eventsOf = (resourceId: string): Promise<Array<{ action: string; details: Record<string, unknown> }>> =>
    // Both apps write to the one database: each chains what it wrote before the read.
    Promise.all([validating.services.audit.settled(), production.services.audit.settled()]).then(() =>
      database.dataSource.query(`SELECT action, details FROM audit_events WHERE resource_id = $1 ORDER BY seq`, [resourceId]),
    );

  before(async () => {
    database = await openTestDatabase();
    validating = await startTestApp({ database, definition: fixture, handlers, config: { validateResponses: true } });
    production = await startTestApp({ database, definition: fixture, handlers, config: { validateResponses: false } });
  });
  after(async () => {
    await validating.close();
    await production.close();
    await database.close();
  });

  it('PUT, PATCH and DELETE that note before are audited with it', async () => {
    await validating.request.put('/gadgets/gdg_noted').expect(200);
    await validating.request.patch('/gadgets/gdg_noted').expect(200);
    // Response validation refuses every 204 (it wants a null body), so the deletion is checked where responses are not validated.
    await production.request.delete('/gadgets/gdg_noted').expect(204);
    const events = await eventsOf('gdg_noted');
    assert.deepEqual(
      events.map((event) => [event.action, event.details.before]),
      [
        ['gadget.replaced', { colour: 'red' }],
        ['gadget.tinted', { colour: 'red' }],
        ['gadget.deleted', { colour: 'red' }],
      ],
    );
  });

  it('where responses are validated (dev, test), an overwrite without before is a 500 and neither change nor event commits', async () => {
    for (const method of ['put', 'patch', 'delete'] as const) {
      const res = await validating.request[method]('/gadgets/gdg_silent').expect(500);
      assert.equal(res.body.error, 'internal_error', method);
    }
    assert.deepEqual(await eventsOf('gdg_silent'), []);
    const logged = validating.logs.filter((line) => line.msg === 'unhandled error').map((line) => line.err_message);
    for (const operationId of ['replaceGadget', 'tintGadget', 'deleteGadget']) {
      assert.ok(logged.includes(`${operationId} changed state under x-audit without noting its before (noteBefore)`), operationId);
    }
  });

  it('in production the change is audited without before, and the omission is logged as an error', async () => {
    await production.request.put('/gadgets/gdg_quiet').expect(200);
    const [event] = await eventsOf('gdg_quiet');
    assert.equal(event?.action, 'gadget.replaced');
    assert.equal('before' in event!.details, false);
    assert.deepEqual(event!.details.after, { id: 'gdg_quiet', colour: 'blue' });
    const logged = production.logs.find((line) => line.operation_id === 'replaceGadget' && line.level === 'error');
    assert.equal(logged?.msg, 'replaceGadget changed state under x-audit without noting its before (noteBefore)');
  });

  it('a creation (POST) has nothing before it and needs no note', async () => {
    await validating.request.post('/gadgets').expect(201);
    const [event] = await eventsOf('gdg_new');
    assert.equal(event?.action, 'gadget.created');
    assert.equal('before' in event!.details, false);
  });
});
