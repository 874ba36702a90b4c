export { createPublisher, COALESCE_MS, type Publisher, type LivePublicDonation } from './publisher.js';
export { attachSocket } from './socket.js';
