/** Probed on every provider by Nest at start-up and shutdown: answered by the wrapper, never by resolving what it wraps. */
const NEST_LIFECYCLE_HOOKS = new Set([
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

/**
 * Makes a wrapper class a drop-in for the BullMQ object it wraps: a member
 * the class does not define itself is looked up on the wrapped object, so
 * `tracedQueue.getJob(id)` is `tracedQueue.queue.getJob(id)`. The lookup sits
 * at the end of the prototype chain: the class's own members (the traced
 * `add`, `addBulk`, …) are found first and pay nothing for it. Methods come
 * back bound to the wrapped object. Symbols, `then`, Object.prototype's members
 * and Nest's lifecycle hooks are not delegated, so the wrapper is never taken
 * for a promise and a lazily resolved queue is resolved only when used.
 *
 * The types come from declaration merging beside the class:
 * `interface TracedQueue extends Omit<Queue, 'add' | …> {}`.
 */
export function delegateMissingMembers(wrapper: abstract new (...args: never[]) => object, wrappedOf: (self: object) => object): void {
  const resolving = new WeakSet<object>();
  const delegate = new Proxy(Object.create(Object.getPrototypeOf(wrapper.prototype) as object | null) as object, {
    get(target, property, receiver) {
      if (typeof property === 'symbol' || property === 'then' || property in target || NEST_LIFECYCLE_HOOKS.has(property)) {
        return Reflect.get(target, property, receiver);
      }
      // A field of the wrapper's own not yet set (`resolvedQueue`) is read while it resolves what it wraps.
      if (resolving.has(receiver as object)) return undefined;
      resolving.add(receiver as object);
      let wrapped: object;
      try {
        wrapped = wrappedOf(receiver as object);
      } finally {
        resolving.delete(receiver as object);
      }
      const value: unknown = Reflect.get(wrapped, property, wrapped);
      return typeof value === 'function' ? value.bind(wrapped) : value;
    },
  });
  Object.setPrototypeOf(wrapper.prototype, delegate);
}
