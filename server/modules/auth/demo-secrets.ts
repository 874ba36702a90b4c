/**
 * The demo's secrets as README.md publishes them. Outside production the demo users get them, so
 * anyone can try every role; a production start refuses to run while any account still has one.
 */
export const PUBLISHED_DEMO_PASSWORD = 'shanhui-demo-2026';

/** The TOTP key of the admin and finance demo users. */
export const PUBLISHED_DEMO_TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

/** Every demo user's email ends so. */
export const DEMO_EMAIL_DOMAIN = '@demo.shanhui.local';
