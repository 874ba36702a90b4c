/** The demo's social organisations (G-3) and the calls and plans they put forward, in the words street offices use. */

const years = (n: number) => new Date(Date.now() + n * 365 * 86_400_000);

export const DEMO_ORGANISATIONS = [
  { key: 'jiulong', name: '九龙坡区九龙社工中心', verified: true, registration: { registration_no: '52500107MJP123456X', registered_on: new Date('2016-05-12'), certificate_expires_on: years(3), rating: '4A', contact: '张社工 023-6878 0000' } },
  { key: 'yuxi', name: '重庆市渝西社会工作服务中心', verified: true, registration: { registration_no: '52500000MJP234567Y', registered_on: new Date('2013-09-03'), certificate_expires_on: years(4), rating: '5A', contact: '王主任' } },
  { key: 'caihong', name: '九龙坡区彩虹青少年服务社', verified: true, registration: { registration_no: '52500107MJP345678Z', registered_on: new Date('2019-03-21'), certificate_expires_on: years(2), rating: '3A', contact: '陈老师' } },
  { key: 'xiyang', name: '九龙坡区夕阳红为老服务中心', verified: true, registration: { registration_no: '52500107MJP456789A', registered_on: new Date('2017-11-08'), certificate_expires_on: years(3), rating: '4A', contact: '刘院长' } },
  { key: 'xinya', name: '九龙坡区新芽公益服务中心', verified: false, registration: { registration_no: '52500107MJP567890B', registered_on: new Date('2025-06-30'), certificate_expires_on: years(5), contact: '新芽 周干事' } },
  { key: 'qihang', name: '九龙坡区启航社区服务社', verified: true, registration: { registration_no: '52500107MJP678901C', registered_on: new Date('2018-04-02'), certificate_expires_on: years(2), rating: '2A', contact: '启航 吴干事' } },
] as const;

const plan = (p: { title: string; summary: string; service_area: string; beneficiaries: string; beneficiary_count: number; activities: string; outcomes: string; budget: [string, number][] }) => ({
  title: p.title, summary: p.summary, service_area: p.service_area, beneficiaries: p.beneficiaries, beneficiary_count: p.beneficiary_count,
  activities: p.activities, outcomes: p.outcomes, budget_lines: p.budget.map(([line, amount]) => ({ line, amount })),
});

export const DEMO_PLANS = {
  eLoveCall: { title: '2026 年石坪桥街道困境儿童关爱服务项目', category: 'children', budget: 6_000_000, description: '面向辖区困境儿童家庭，购买居住空间改造与社工陪伴服务。资金来自石坪桥街道社区慈善基金购买服务资金池（居民捐赠、配捐与财政资金）。' },
  eLove: plan({
    title: 'E爱空间·阳光相伴：困境儿童居住空间改造与陪伴', summary: '为 15 户困境儿童家庭改造学习与居住空间：刷墙、换灯、添置书桌书架，并由社工持续陪伴，链接学校与社区资源。',
    service_area: '石坪桥街道建桥社区、黄桷湾社区', beneficiaries: '辖区困境儿童及其家庭', beneficiary_count: 15,
    activities: '入户需求评估；居住空间改造（墙面、照明、书桌书架）；每月一次社工家访；寒暑假成长小组；改造前后对比公开。', outcomes: '15 户完成改造；儿童学习环境与情绪状态改善；家庭支持网络建立。',
    budget: [['人员经费', 2_000_000], ['改造材料', 3_000_000], ['宣传与评估', 500_000]],
  }),
  eLoveRunnerUp: plan({
    title: '“成长伙伴”困境儿童朋辈支持计划', summary: '招募大学生志愿者与困境儿童结对，开展每周一次的课业陪伴与兴趣活动。', service_area: '石坪桥街道全域', beneficiaries: '6–14 岁困境儿童', beneficiary_count: 40,
    activities: '志愿者招募培训；一对一结对陪伴；每月主题活动；期末成长分享会。', outcomes: '40 名儿童获得稳定陪伴，学业与社交改善。',
    budget: [['人员经费', 2_200_000], ['志愿者培训与保险', 1_600_000], ['活动物资', 1_000_000]],
  }),
  reportOutputs: ['完成入户评估 15 户，确定改造方案 6 户。', '完成 4 户改造，开展家访 15 次、成长小组 2 次。', '完成 5 户改造，社区分享会 1 场，居民志愿者 12 人参与。', '完成 3 户改造，开展寒假成长营筹备。'],
  ideasCall: { title: '谢家湾街道社区治理“金点子”落地项目', category: 'governance', budget: 4_000_000, description: '将居民议事会确定的“文明养犬”“文明晾晒”等金点子落地，购买社区营造与居民自治服务。' },
  ideas: plan({
    title: '“文明养犬、文明晾晒”居民自治营造项目', summary: '协助居民自组织建设宠物便民点与公共晾晒区，培育居民议事骨干，形成居民公约。', service_area: '谢家湾街道华园社区', beneficiaries: '华园社区居民', beneficiary_count: 1200,
    activities: '居民议事会 6 次；便民点与晾晒区共建；养犬居民自律小组；公约宣传。', outcomes: '建成便民点 3 处、晾晒区 2 处；居民公约签署率 80%。',
    budget: [['人员经费', 1_200_000], ['共建物资', 1_500_000], ['宣传与评估', 300_000]],
  }),
  ideasOther: plan({
    title: '楼栋“微自治”志愿者培育计划', summary: '在蒋家社区培育楼栋长与志愿者，开展楼栋议事与邻里互助。', service_area: '谢家湾街道蒋家社区', beneficiaries: '蒋家社区居民', beneficiary_count: 800,
    activities: '楼栋长培训 4 期；楼栋议事 12 次；邻里节 1 场。', outcomes: '培育楼栋长 30 名，志愿者 80 名。',
    budget: [['人员经费', 1_000_000], ['志愿者培训', 1_200_000], ['活动物资', 300_000]],
  }),
  mealsCall: { title: '杨家坪街道长者助餐与探访服务项目', category: 'elderly', budget: 8_000_000, description: '为高龄、独居困难老人提供助餐补贴、送餐上门与定期探访，链接社区长者食堂。' },
  meals: plan({
    title: '“暖心食堂”高龄独居老人助餐送餐计划', summary: '依托前进社区长者食堂，为 60 名困难老人每日送餐上门，社工与志愿者每周探访。', service_area: '杨家坪街道前进社区、西郊社区', beneficiaries: '高龄独居困难老人', beneficiary_count: 60,
    activities: '每日送餐；每周探访；每月健康讲座；紧急联络机制。', outcomes: '60 名老人每日有热饭，孤独感与健康风险下降。',
    budget: [['人员经费', 2_400_000], ['餐食补贴', 3_000_000], ['志愿者保险与交通', 600_000]],
  }),
  deskCall: { title: '2027 年石坪桥街道社区社会工作服务项目', category: 'social-work', budget: 5_000_000, description: '购买社区社会工作专业服务，重点服务困境家庭、独居老人与流动儿童。申报期内欢迎社会组织与社区、社工联合申报。' },
  desk: plan({
    title: '“小书桌”流动儿童课业与陪伴计划', summary: '在建桥社区设立“四点半课堂”，社工和志愿者为流动儿童提供课后辅导与心理陪伴。', service_area: '石坪桥街道建桥社区四点半课堂', beneficiaries: '流动儿童', beneficiary_count: 30,
    activities: '每周四次课后辅导；每月一次亲子活动；个案跟进。', outcomes: '30 名儿童学业与情绪改善。',
    budget: [['人员经费', 2_000_000], ['活动物资', 800_000], ['宣传与评估', 200_000]],
  }),
  reading: plan({
    title: '黄桷湾社区“邻里书房”共建项目', summary: '社区、社工与社会组织联合，把闲置用房改造为邻里书房，开展亲子阅读与长者读报。', service_area: '石坪桥街道黄桷湾社区', beneficiaries: '社区儿童与长者', beneficiary_count: 300,
    activities: '书房共建；每周亲子阅读；长者读报会；志愿者管理。', outcomes: '书房每周开放 5 天，年服务 3000 人次。',
    budget: [['人员经费', 1_500_000], ['书籍与设施', 1_500_000], ['活动物资', 500_000]],
  }),
  artsCall: { title: '黄桷坪街道青少年艺术教育服务项目', category: 'volunteering', budget: 3_000_000, description: '依托黄桷坪艺术街区，为辖区青少年提供公益艺术课程与社区美育活动。' },
};
