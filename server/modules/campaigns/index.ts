export { createCampaignsService, transitionAction, type CampaignsService, type CampaignStatus } from './campaigns.service.js';
export { createCampaignTotals, type CampaignTotals, type Totals, type TotalsContributor } from './campaign-totals.js';
export { isAccepting, presentCampaign, presentTotals, type CampaignJson } from './campaigns.presenter.js';
export { CampaignCreate, CampaignListQuery, CampaignUpdate, CampaignTransition, SLUG as SLUG_PATTERN } from './campaigns.schemas.js';
export { campaignsRepo, type CampaignRow } from './campaigns.repo.js';
export { campaignsApi, campaignsPages, type MatchStateOf } from './campaigns.routes.js';
